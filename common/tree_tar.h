// A tar of a file or directory tree, streamed as it is made: what `docker
// cp` sends both ways (engined's GET /archive, gantry cp to a container).
// Entries are named from `top` (the tree's root renamed), links below the
// root are archived as links and never followed, and a regular file is read
// through no link but, when asked, the root.
#pragma once

#include <time.h>

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gantry {

struct TreeTarOptions {
  // Follow `root` when it is a symlink (docker cp -L; engined's
  // /proc/self/fd link to the object it resolved); else the link itself.
  bool follow_root = true;
};

// Writes the pax tar of the tree at `root` through `write` in pieces.
absl::Status WriteTreeTar(const std::string& root, const std::string& top,
                          const std::function<absl::Status(absl::string_view)>& write,
                          const TreeTarOptions& options = {});

// A tar of one symlink named `top` pointing at `target` (a link docker cp
// copies as it is).
absl::Status WriteLinkTar(const std::string& top, const std::string& target,
                          const struct timespec& mtime,
                          const std::function<absl::Status(absl::string_view)>& write);

}  // namespace gantry
