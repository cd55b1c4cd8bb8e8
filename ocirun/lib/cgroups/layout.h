// Where the host keeps each cgroup controller. One description covers the
// three layouts: v1 (one hierarchy per controller), pure v2 (one unified
// hierarchy) and hybrid (v1 hierarchies plus a cgroup2 mount holding the rest,
// e.g. hugetlb at /sys/fs/cgroup/unified): each controller goes where it lives.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace ocirun::cgroups {

enum class Version { kV1, kV2 };

struct Hierarchy {
  std::string mount_point;  // "/sys/fs/cgroup/memory"
  Version version = Version::kV1;
  std::string own_path;  // this process's cgroup in it, from /proc/self/cgroup
};

class Layout {
 public:
  // Reads /proc/self/mountinfo and /proc/self/cgroup.
  static absl::StatusOr<Layout> Discover();
  // From the texts of those two files; `v2_controllers` is the content of the
  // unified root's cgroup.controllers (tests pass a fake cgroupfs directory).
  static absl::StatusOr<Layout> Parse(const std::string& mountinfo, const std::string& proc_cgroup,
                                      const std::string& v2_controllers);

  // Hierarchy that holds `controller`, or nullptr when the host lacks it.
  const Hierarchy* Find(const std::string& controller) const;
  const std::map<std::string, Hierarchy>& controllers() const { return controllers_; }
  const std::optional<Hierarchy>& unified() const { return unified_; }
  bool IsPureV2() const;

 private:
  std::map<std::string, Hierarchy> controllers_;
  std::optional<Hierarchy> unified_;
};

}  // namespace ocirun::cgroups
