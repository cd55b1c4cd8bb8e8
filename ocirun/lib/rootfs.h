// The container's filesystem view, built inside its new mount namespace:
// mounts from config.json resolved without leaving the rootfs, /dev, then
// pivot_root, masked and read-only paths.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "ocirun/lib/spec.h"

namespace ocirun {

struct RootfsOptions {
  std::string rootfs;  // absolute host path
  bool no_pivot = false;
  // controller -> host directory of the container's cgroup, for "cgroup" mounts.
  std::map<std::string, std::string> cgroup_paths;
  bool user_namespace = false;  // mknod is not allowed: bind host devices instead
};

// Before pivot_root: propagation, the rootfs bind, every mount, /dev.
absl::Status PrepareRootfs(const Spec& spec, const RootfsOptions& options);
// pivot_root (or MS_MOVE + chroot with no_pivot) into the prepared rootfs.
absl::Status EnterRootfs(const RootfsOptions& options);
// After pivot_root: sysctls, read-only paths, masked paths, read-only root.
absl::Status FinishRootfs(const Spec& spec);

// Mount flags and data parsed from OCI mount options.
struct MountFlags {
  unsigned long flags = 0;
  unsigned long clear = 0;        // flags named with their negation ("rw", "suid")
  unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [| MS_REC]
  bool bind = false;
  std::string data;
};
MountFlags ParseMountOptions(const std::vector<std::string>& options);

}  // namespace ocirun
