// contd's metadata database: one SQLite file, <root>/metadata.db, with the
// tables of contd/metadata/schema.cc.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/sqlite_database.h"

namespace gantry::contd::metadata {

using sqlite::Connection;
using sqlite::Statement;

class Database final : public sqlite::Database {
 public:
  // Opens (creating) <root>/metadata.db and brings its schema up to date.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& root);

  // Namespaces that objects have been created in, sorted.
  absl::StatusOr<std::vector<std::string>> ListNamespaces();

  // Garbage collection holds this exclusively from its mark to the end of
  // its sweep. A writer that creates an object and then references it (a
  // lease resource, an image record) in separate transactions holds it
  // shared across both, so the collector never sees the object between
  // them (containerd's metadata.DB write lock). Never taken recursively.
  std::shared_mutex& gc_lock() { return gc_lock_; }

 private:
  friend class sqlite::Database;
  using sqlite::Database::Database;

  std::shared_mutex gc_lock_;
};

}  // namespace gantry::contd::metadata
