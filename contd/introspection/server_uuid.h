// The identity of a contd root directory, which clients use to tell whether
// they are still talking to the same contd (across restarts) or another one.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace gantry::contd {

// Returns the UUID stored under root, creating and storing a random one the
// first time.
absl::StatusOr<std::string> LoadOrCreateServerUuid(const std::string& root);

}  // namespace gantry::contd
