#include "engined/containers/container_store.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::engined {
namespace {

const std::vector<sqlite::SchemaComponent>& Schema() {
  static const auto* schema = new std::vector<sqlite::SchemaComponent>{
      {"containers", {R"sql(
CREATE TABLE containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  stored TEXT NOT NULL
) WITHOUT ROWID;
)sql"}},
  };
  return *schema;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContainerStore>> ContainerStore::Open(const std::string& data_root) {
  GANTRY_ASSIGN_OR_RETURN(auto db,
                          sqlite::Database::Open(absl::StrCat(data_root, "/engined.db"), Schema()));
  return std::unique_ptr<ContainerStore>(new ContainerStore(std::move(db)));
}

absl::Status ContainerStore::Put(const Container& container) {
  const std::string stored = container.ToStored().dump();
  absl::Status status = db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        sqlite::Statement statement,
        conn.Prepare(
            "INSERT INTO containers (id, name, stored) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, stored = excluded.stored"));
    return statement.Bind(1, container.id).Bind(2, container.name).Bind(3, stored).Run();
  });
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(
        absl::StrCat("Conflict. The container name \"/", container.name, "\" is already in use"));
  }
  return status;
}

absl::Status ContainerStore::Delete(const std::string& id) {
  return db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(sqlite::Statement statement,
                            conn.Prepare("DELETE FROM containers WHERE id = ?"));
    return statement.Bind(1, id).Run();
  });
}

absl::StatusOr<std::vector<Container>> ContainerStore::All() {
  std::vector<Container> containers;
  GANTRY_RETURN_IF_ERROR(db_->Read([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(sqlite::Statement query,
                            conn.Prepare("SELECT id, stored FROM containers"));
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) return absl::OkStatus();
      nlohmann::json stored = nlohmann::json::parse(query.ColumnText(1), nullptr, false);
      absl::StatusOr<Container> container = Container::FromStored(stored);
      if (!container.ok()) return Annotate(container.status(), query.ColumnText(0));
      containers.push_back(*std::move(container));
    }
  }));
  return containers;
}

}  // namespace gantry::engined
