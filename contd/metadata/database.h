// contd's metadata database: one SQLite file, <root>/metadata.db, with the
// tables of contd/metadata/schema.cc.
#pragma once

#include <memory>
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

 private:
  friend class sqlite::Database;
  using sqlite::Database::Database;
};

}  // namespace gantry::contd::metadata
