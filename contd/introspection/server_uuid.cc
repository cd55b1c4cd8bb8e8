#include "contd/introspection/server_uuid.h"

#include "absl/strings/str_cat.h"
#include "common/stored_uuid.h"

namespace gantry::contd {

absl::StatusOr<std::string> LoadOrCreateServerUuid(const std::string& root) {
  return LoadOrCreateStoredUuid(absl::StrCat(root, "/introspection/uuid"));
}

}  // namespace gantry::contd
