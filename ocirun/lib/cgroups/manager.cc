#include "ocirun/lib/cgroups/manager.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "ocirun/lib/cgroups/controllers.h"

namespace ocirun::cgroups {

namespace {
std::string JoinPath(const std::string& base, const std::string& rel) {
  std::string out = base;
  for (absl::string_view part : absl::StrSplit(rel, '/', absl::SkipEmpty()))
    absl::StrAppend(&out, "/", part);
  return out;
}
}  // namespace

Manager Manager::ForContainer(const Layout& layout, const std::string& cgroups_path,
                              const std::string& id) {
  Manager m;
  m.layout_ = &layout;
  std::string rel = cgroups_path.empty() ? id : cgroups_path;
  for (const auto& [controller, h] : layout.controllers()) {
    std::string sub = absl::StartsWith(rel, "/") ? rel : JoinPath(h.own_path, rel);
    std::string path = JoinPath(h.mount_point, sub);
    m.paths_[controller] = path;
    m.dirs_[controller] = Dir{path, h.version};
  }
  // On hybrid hosts the container also gets a cgroup2 directory, as systemd
  // and runc do, so the unified controllers (hugetlb) apply to it.
  if (layout.unified()) {
    const auto& u = *layout.unified();
    std::string sub = absl::StartsWith(rel, "/") ? rel : JoinPath(u.own_path, rel);
    m.paths_[""] = JoinPath(u.mount_point, sub);
    m.dirs_[""] = Dir{m.paths_[""], Version::kV2};
  }
  return m;
}

Manager Manager::FromPaths(const std::map<std::string, std::string>& paths, const Layout& layout) {
  Manager m;
  m.layout_ = &layout;
  m.paths_ = paths;
  for (const auto& [controller, path] : paths) {
    const Hierarchy* h = controller.empty() ? nullptr : layout.Find(controller);
    Version v = controller.empty() ? Version::kV2 : (h ? h->version : Version::kV1);
    m.dirs_[controller] = Dir{path, v};
  }
  return m;
}

const Dir* Manager::DirFor(const std::string& controller) const {
  auto it = dirs_.find(controller);
  return it == dirs_.end() ? nullptr : &it->second;
}

absl::Status Manager::Create() {
  std::set<std::string> made;
  for (const auto& [controller, dir] : dirs_) {
    if (!made.insert(dir.path).second) continue;
    if (dir.version == Version::kV2 && layout_->unified()) {
      // Enable the parent's controllers for each level on the way down, as v2
      // only lets a cgroup use what its parent's subtree_control grants.
      const std::string& root = layout_->unified()->mount_point;
      std::string level = root;
      std::string rest = dir.path.substr(root.size());
      for (absl::string_view part : absl::StrSplit(rest, '/', absl::SkipEmpty())) {
        auto available = gantry::ReadFile(level + "/cgroup.controllers");
        if (available.ok()) {
          for (absl::string_view c :
               absl::StrSplit(*available, absl::ByAnyChar(" \n"), absl::SkipEmpty()))
            (void)gantry::WriteExistingFile(level + "/cgroup.subtree_control",
                                            absl::StrCat("+", c));
        }
        level = absl::StrCat(level, "/", part);
        if (::mkdir(level.c_str(), 0755) != 0 && errno != EEXIST)
          return gantry::LastErrno(absl::StrCat("cgroup: mkdir ", level));
      }
    } else {
      GANTRY_RETURN_IF_ERROR(gantry::Annotate(gantry::MakeDirs(dir.path), "cgroup"));
    }
    if (controller == "cpuset" && dir.version == Version::kV1) {
      // A new v1 cpuset is empty and refuses tasks: fill every level made on
      // the way down from its parent (as runc does), not just the last one.
      const Hierarchy* h = layout_->Find("cpuset");
      std::string parent = h && absl::StartsWith(dir.path, h->mount_point)
                               ? h->mount_point
                               : dir.path.substr(0, dir.path.rfind('/'));
      for (absl::string_view part :
           absl::StrSplit(dir.path.substr(parent.size()), '/', absl::SkipEmpty())) {
        Dir level{absl::StrCat(parent, "/", part), Version::kV1};
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
          if (ReadKnob(level, f).empty())
            (void)WriteKnob(level, f, ReadKnob(Dir{parent, Version::kV1}, f));
        }
        parent = level.path;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Manager::AddProcess(pid_t pid) const {
  std::set<std::string> done;
  for (const auto& [controller, dir] : dirs_) {
    if (!done.insert(dir.path).second) continue;
    GANTRY_RETURN_IF_ERROR(WriteKnob(dir, "cgroup.procs", std::to_string(pid)));
  }
  return absl::OkStatus();
}

bool HasLimits(const Resources& r) {
  const auto& m = r.memory;
  const auto& c = r.cpu;
  const auto& io = r.block_io;
  return m.limit || m.reservation || m.swap || m.kernel || m.kernel_tcp || m.swappiness ||
         m.disable_oom_killer || c.shares || c.period || c.realtime_period || c.quota ||
         c.realtime_runtime || !c.cpus.empty() || !c.mems.empty() || r.pids_limit || io.weight ||
         io.leaf_weight || !io.weight_device.empty() || !io.throttle_read_bps.empty() ||
         !io.throttle_write_bps.empty() || !io.throttle_read_iops.empty() ||
         !io.throttle_write_iops.empty() || !r.hugepage_limits.empty() || !r.unified.empty();
}

absl::Status Manager::SetResources(const Resources& r) const {
  auto with = [&](const char* controller, auto&& fn) -> absl::Status {
    const Dir* dir = DirFor(controller);
    if (!dir) return absl::OkStatus();
    return fn(*dir);
  };
  auto missing = [&](const char* controller, const char* field) -> absl::Status {
    if (DirFor(controller)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "linux.resources.", field, ": the host has no ", controller, " cgroup controller"));
  };
  const auto& m = r.memory;
  if (m.limit || m.reservation || m.swap || m.swappiness || m.disable_oom_killer)
    GANTRY_RETURN_IF_ERROR(missing("memory", "memory"));
  GANTRY_RETURN_IF_ERROR(with("memory", [&](const Dir& d) { return SetMemory(d, r.memory); }));
  GANTRY_RETURN_IF_ERROR(with("cpu", [&](const Dir& d) { return SetCpu(d, r.cpu); }));
  GANTRY_RETURN_IF_ERROR(with("cpuset", [&](const Dir& d) { return SetCpuset(d, r.cpu); }));
  if (r.pids_limit) {
    GANTRY_RETURN_IF_ERROR(missing("pids", "pids"));
    GANTRY_RETURN_IF_ERROR(with("pids", [&](const Dir& d) { return SetPids(d, *r.pids_limit); }));
  }
  GANTRY_RETURN_IF_ERROR(with("blkio", [&](const Dir& d) { return SetBlkio(d, r.block_io); }));
  if (!r.hugepage_limits.empty()) {
    GANTRY_RETURN_IF_ERROR(missing("hugetlb", "hugepageLimits"));
    GANTRY_RETURN_IF_ERROR(
        with("hugetlb", [&](const Dir& d) { return SetHugetlb(d, r.hugepage_limits); }));
  }
  GANTRY_RETURN_IF_ERROR(with("devices", [&](const Dir& d) { return SetDevices(d, r.devices); }));
  for (const auto& [file, value] : r.unified) {
    const Dir* dir = DirFor("");
    if (!dir || !layout_ || !layout_->IsPureV2())
      return absl::FailedPreconditionError(
          "linux.resources.unified: requires a host with cgroup v2 only");
    GANTRY_RETURN_IF_ERROR(WriteKnob(*dir, file, value));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<pid_t>> Manager::Pids() const {
  // Every directory holds the same tasks; prefer the one that counts them all.
  const Dir* dir = DirFor("pids");
  if (!dir) dir = DirFor("memory");
  if (!dir && !dirs_.empty()) dir = &dirs_.begin()->second;
  if (!dir) return std::vector<pid_t>{};
  auto text = gantry::ReadFile(dir->path + "/cgroup.procs");
  if (!text.ok()) return text.status();
  std::vector<pid_t> pids;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    int pid;
    if (absl::SimpleAtoi(line, &pid)) pids.push_back(pid);
  }
  return pids;
}

absl::Status Manager::Freeze() const {
  const Dir* dir = DirFor("freezer");
  if (!dir) return absl::FailedPreconditionError("cgroup: the host has no freezer");
  return SetFrozen(*dir, true);
}

absl::Status Manager::Thaw() const {
  const Dir* dir = DirFor("freezer");
  if (!dir) return absl::FailedPreconditionError("cgroup: the host has no freezer");
  return SetFrozen(*dir, false);
}

absl::StatusOr<bool> Manager::IsFrozen() const {
  const Dir* dir = DirFor("freezer");
  if (!dir) return false;
  return ReadFrozen(*dir);
}

nlohmann::json Manager::Stats() const {
  nlohmann::json out = nlohmann::json::object();
  if (const Dir* d = DirFor("memory")) MemoryStats(*d, out);
  if (const Dir* d = DirFor("cpuacct"))
    CpuStats(*d, out);
  else if (const Dir* d2 = DirFor("cpu"))
    CpuStats(*d2, out);
  if (const Dir* d = DirFor("pids")) PidsStats(*d, out);
  if (const Dir* d = DirFor("blkio")) BlkioStats(*d, out);
  if (const Dir* d = DirFor("hugetlb")) HugetlbStats(*d, out);
  return out;
}

uint64_t Manager::OomKills() const {
  const Dir* dir = DirFor("memory");
  if (!dir) return 0;
  // v1 memory.oom_control and v2 memory.events both carry "oom_kill N".
  auto counts =
      ReadFlatKeyed(*dir, dir->version == Version::kV1 ? "memory.oom_control" : "memory.events");
  return counts["oom_kill"];
}

absl::Status Manager::Destroy() const {
  absl::Status first;
  std::set<std::string> done;
  for (const auto& [controller, dir] : dirs_) {
    if (!done.insert(dir.path).second) continue;
    // Exiting tasks leave the cgroup shortly after they are reaped: retry EBUSY.
    for (int attempt = 0;; ++attempt) {
      if (::rmdir(dir.path.c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY || attempt == 100) {
        if (first.ok()) first = gantry::LastErrno(absl::StrCat("cgroup: rmdir ", dir.path));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return first;
}

}  // namespace ocirun::cgroups
