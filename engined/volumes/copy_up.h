// Docker's volume copy-up: an empty volume mounted over a directory of the
// image starts with that directory's content (moby's
// container.CopyImagePathContent).
#pragma once

#include "absl/status/status.h"

namespace gantry::engined {

// Copies everything under the directory `source` into the directory
// `target`: files, directories, symlinks (never followed), device nodes,
// FIFOs, hard links kept as links, with owners, modes, times and extended
// attributes. Both are open directory fds.
absl::Status CopyDirectoryContents(int source, int target);

// Whether the directory holds nothing.
bool IsEmptyDirectory(int dir);

}  // namespace gantry::engined
