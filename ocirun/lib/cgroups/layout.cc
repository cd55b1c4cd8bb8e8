#include "ocirun/lib/cgroups/layout.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"

namespace ocirun::cgroups {

namespace {
constexpr const char* kV1Controllers[] = {"cpu",      "cpuacct",    "cpuset", "memory",  "devices",
                                          "freezer",  "blkio",      "pids",   "hugetlb", "net_cls",
                                          "net_prio", "perf_event", "rdma",   "misc"};

// /proc/self/cgroup names paths from the hierarchy's root, but a mount may
// show only a subtree (inside a container without a cgroup namespace):
// "/docker/abc/x" under a mount of "/docker/abc" is "/x" there.
std::string UnderMountRoot(const std::string& path, const std::string& mount_root) {
  if (mount_root == "/" || !absl::StartsWith(path, mount_root)) return path;
  std::string rest = path.substr(mount_root.size());
  if (rest.empty()) return "/";
  return rest[0] == '/' ? rest : path;
}
}  // namespace

absl::StatusOr<Layout> Layout::Discover() {
  GANTRY_ASSIGN_OR_RETURN(std::string mountinfo, gantry::ReadFile("/proc/self/mountinfo"));
  GANTRY_ASSIGN_OR_RETURN(std::string proc_cgroup, gantry::ReadFile("/proc/self/cgroup"));
  // The unified root's controller list, wherever cgroup2 is mounted.
  std::string v2_controllers;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    for (size_t i = 6; i + 1 < f.size(); ++i) {
      if (f[i] == "-" && f[i + 1] == "cgroup2") {
        auto c = gantry::ReadFile(f[4] + "/cgroup.controllers");
        if (c.ok()) v2_controllers = *c;
      }
    }
  }
  return Parse(mountinfo, proc_cgroup, v2_controllers);
}

absl::StatusOr<Layout> Layout::Parse(const std::string& mountinfo, const std::string& proc_cgroup,
                                     const std::string& v2_controllers) {
  // /proc/self/cgroup: "4:memory:/user.slice" (v1) or "0::/user.slice" (v2).
  std::map<std::string, std::string> own_v1;
  std::string own_v2 = "/";
  for (absl::string_view line : absl::StrSplit(proc_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (f[0] == "0" && f[1].empty()) {
      own_v2 = f[2];
      continue;
    }
    for (absl::string_view c : absl::StrSplit(f[1], ',')) own_v1[std::string(c)] = f[2];
  }

  Layout layout;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    // "36 25 0:31 / /sys/fs/cgroup/memory rw,relatime shared:13 - cgroup cgroup rw,memory"
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 1 >= f.size() || f.size() < 5) continue;
    const std::string& fstype = f[dash + 1];
    const std::string& mount_root = f[3];
    const std::string& mount_point = f[4];
    if (fstype == "cgroup2") {
      layout.unified_ = Hierarchy{mount_point, Version::kV2, UnderMountRoot(own_v2, mount_root)};
    } else if (fstype == "cgroup" && dash + 3 < f.size()) {
      for (absl::string_view opt : absl::StrSplit(f[dash + 3], ',')) {
        // Named hierarchies without a controller ("name=systemd") are joined
        // too, as runc does, so tools that track them see the container.
        std::string name(opt);
        bool known = absl::StartsWith(name, "name=");
        for (const char* c : kV1Controllers) known |= name == c;
        if (known && !layout.controllers_.count(name))
          layout.controllers_[name] =
              Hierarchy{mount_point, Version::kV1, UnderMountRoot(own_v1[name], mount_root)};
      }
    }
  }
  if (layout.unified_) {
    for (absl::string_view c :
         absl::StrSplit(v2_controllers, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
      // A controller bound to a v1 hierarchy is not usable in v2 (hybrid hosts).
      std::string name(c);
      if (name == "io") name = "blkio";
      if (!layout.controllers_.count(name)) layout.controllers_[name] = *layout.unified_;
    }
    // freezer is built into cgroup2 (cgroup.freeze), not listed as a controller.
    if (!layout.controllers_.count("freezer")) layout.controllers_["freezer"] = *layout.unified_;
    // devices are an eBPF program in v2; recorded so device rules have a home.
    if (!layout.controllers_.count("devices")) layout.controllers_["devices"] = *layout.unified_;
  }
  if (layout.controllers_.empty() && !layout.unified_)
    return absl::FailedPreconditionError("cgroups: no cgroup filesystem is mounted");
  return layout;
}

const Hierarchy* Layout::Find(const std::string& controller) const {
  auto it = controllers_.find(controller);
  return it == controllers_.end() ? nullptr : &it->second;
}

bool Layout::IsPureV2() const {
  for (const auto& [name, h] : controllers_)
    if (h.version == Version::kV1) return false;
  return unified_.has_value();
}

}  // namespace ocirun::cgroups
