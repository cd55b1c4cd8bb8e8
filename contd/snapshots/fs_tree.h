// Whole-tree operations on snapshot directories: the native snapshotter's
// copy of a parent, and disk usage.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "contd/snapshots/snapshotter.h"

namespace gantry::contd::snapshots {

// Copies the contents of directory `src` into the existing empty directory
// `dst`, keeping ownership, modes, timestamps, xattrs, hardlinks, symlinks,
// device nodes and fifos. Does not cross into other mounts.
absl::Status CopyTree(const std::string& src, const std::string& dst);

// Bytes allocated (st_blocks, each hardlinked inode once) and inodes used
// by the tree at `path`, `path` itself included.
absl::StatusOr<Usage> DiskUsage(const std::string& path);

}  // namespace gantry::contd::snapshots
