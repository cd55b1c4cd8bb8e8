// Small filesystem helpers with errors that name the path.
#pragma once

#include <sys/types.h>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gantry {

absl::StatusOr<std::string> ReadFile(const std::string& path);

// Whether WriteFileAtomic flushes to disk before renaming. Runtime state
// under /run does not outlive a reboot, so it needs no fsync (and ocirun's
// start-up time would pay for one).
enum class Durability { kDurable, kVolatile };

// Writes `data` to a temporary file beside `path`, fsyncs it (when durable) and
// renames it over `path`: readers see the old or the new content, never a mix.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode = 0644,
                             Durability durability = Durability::kDurable);

// Writes to an existing file (cgroup and /proc knobs); no truncation or rename.
absl::Status WriteExistingFile(const std::string& path, absl::string_view data);

// mkdir -p; existing directories are fine.
absl::Status MakeDirs(const std::string& path, mode_t mode = 0755);

// The names in a directory, sorted, without "." and "..".
absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& path);
// Same, but a directory that is missing or unreadable has no names (state
// directories made on first use, optional config directories).
std::vector<std::string> ListDirectoryIfAny(const std::string& path);

// Detaches every mount stacked on `path` (none is fine).
void UnmountAll(const std::string& path);

// rm -rf that does not cross into other mounts; a missing path is fine.
absl::Status RemoveTree(const std::string& path);

}  // namespace gantry
