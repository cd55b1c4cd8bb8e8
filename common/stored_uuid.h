// A daemon's identity kept in a file: a random UUID made the first time and
// read back afterwards, so clients can tell the same daemon across restarts.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace gantry {

// Returns the UUID stored at `path`, creating the file (and its directory,
// mode 0700) with a random one the first time. A file holding anything but a
// UUID is DataLoss.
absl::StatusOr<std::string> LoadOrCreateStoredUuid(const std::string& path);

}  // namespace gantry
