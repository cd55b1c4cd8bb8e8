// A list of mounts as snapshotters describe them (containerd's mount.Mount),
// and the helper that performs them, for contd and contd-shim. Overlay mounts of many layers exceed
// the kernel's one-page limit on mount data; MountAll then mounts with lowerdirs relative to their
// common directory, as containerd does.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace gantry {

struct Mount {
  // "overlay", "bind", "tmpfs" ...
  std::string type;
  std::string source;
  // fstab-style: flags ("ro", "rbind", "nosuid" ...) and filesystem data
  // ("lowerdir=a:b", "upperdir=..", "workdir=..").
  std::vector<std::string> options;
};

// Mounts `mounts` one over the other on `target` (an absolute path). On
// error nothing stays mounted.
absl::Status MountAll(const std::vector<Mount>& mounts, const std::string& target);

}  // namespace gantry
