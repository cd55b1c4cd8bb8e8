// Opening paths inside a directory tree that may hold hostile symlinks (an
// image's rootfs, a layer being unpacked): resolution never leaves the tree.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace gantry {

// Opens `path` (relative to the directory `root`; a leading "/" is ignored)
// with openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: symlinks and ".."
// resolve as if `root` were "/", so nothing outside `root` is reached.
absl::StatusOr<UniqueFd> OpenInRoot(int root, const std::string& path, int flags);

}  // namespace gantry
