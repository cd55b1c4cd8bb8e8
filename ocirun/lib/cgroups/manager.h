// A container's cgroup: one directory per hierarchy the host has (several on
// v1 and hybrid hosts, one on pure v2), behind one interface.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "ocirun/lib/cgroups/layout.h"
#include "ocirun/lib/spec.h"

namespace ocirun::cgroups {

// One directory of the container's cgroup, and how to speak to it.
struct Dir {
  std::string path;
  Version version = Version::kV1;
};

class Manager {
 public:
  // Resolves the container's directories. An absolute cgroupsPath is taken
  // from each hierarchy's root, a relative one from this process's own
  // cgroup; an empty one is the id, relative (runc's default: containers
  // nest under the caller's cgroup and stay within its limits).
  static Manager ForContainer(const Layout& layout, const std::string& cgroups_path,
                              const std::string& id);
  // Reloads the directories recorded in a container's state.
  static Manager FromPaths(const std::map<std::string, std::string>& paths, const Layout& layout);

  // Makes every directory (enabling v2 controllers on the way down).
  absl::Status Create();
  absl::Status AddProcess(pid_t pid) const;
  absl::Status SetResources(const Resources& resources) const;
  absl::StatusOr<std::vector<pid_t>> Pids() const;
  absl::Status Freeze() const;
  absl::Status Thaw() const;
  absl::StatusOr<bool> IsFrozen() const;
  // Statistics in the shape of runc's `events --stats` "data" object.
  nlohmann::json Stats() const;
  // How many times the kernel's OOM killer has killed a task of the container.
  uint64_t OomKills() const;
  // Removes every directory this manager made; waits briefly for exiting tasks.
  absl::Status Destroy() const;

  // controller -> directory, as saved in the container state.
  const std::map<std::string, std::string>& paths() const { return paths_; }
  const Dir* DirFor(const std::string& controller) const;

 private:
  const Layout* layout_ = nullptr;
  std::map<std::string, std::string> paths_;
  std::map<std::string, Dir> dirs_;  // controller -> directory
};

}  // namespace ocirun::cgroups
