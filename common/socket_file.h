// The unix socket file a daemon serves on: making room for it before the
// server binds, and restricting who may connect once it exists.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gantry {

// Creates the socket's parent directory and removes a stale socket left by a
// crashed server. Fails when the path is not a socket, or when a live server
// still answers on it: binding would silently take its address away.
absl::Status PrepareSocketPath(const std::string& path);

// Limits the socket to its owner (root) and, when given, the members of
// group: mode 0660.
absl::Status RestrictSocket(const std::string& path, std::optional<gid_t> group);

// Resolves a group given by name or by numeric id.
absl::StatusOr<gid_t> LookupGroup(const std::string& group);

}  // namespace gantry
