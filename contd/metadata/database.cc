#include "contd/metadata/database.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/metadata/schema.h"

namespace gantry::contd::metadata {

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& root) {
  return OpenAs<Database>(absl::StrCat(root, "/metadata.db"), SchemaComponents());
}

absl::StatusOr<std::vector<std::string>> Database::ListNamespaces() {
  std::vector<std::string> names;
  GANTRY_RETURN_IF_ERROR(Read([&names](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(Statement query,
                            conn.Prepare("SELECT name FROM namespaces ORDER BY name"));
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) return absl::OkStatus();
      names.push_back(query.ColumnText(0));
    }
  }));
  return names;
}

}  // namespace gantry::contd::metadata
