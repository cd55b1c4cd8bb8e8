// engined's containers on disk: <data-root>/engined.db (SQLite), one row per
// container holding its stored JSON, with the name unique. Restored at
// start so that a restart of engined keeps every container.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/sqlite_database.h"
#include "engined/containers/container.h"

namespace gantry::engined {

class ContainerStore {
 public:
  static absl::StatusOr<std::unique_ptr<ContainerStore>> Open(const std::string& data_root);

  // Inserts or replaces by ID; ALREADY_EXISTS when another container has the name.
  absl::Status Put(const Container& container);
  absl::Status Delete(const std::string& id);
  absl::StatusOr<std::vector<Container>> All();

 private:
  explicit ContainerStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace gantry::engined
