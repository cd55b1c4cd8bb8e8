#include "ocirun/lib/state.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "ocirun/lib/cgroups/layout.h"
#include "ocirun/lib/cgroups/manager.h"

namespace ocirun {

const char* StatusName(Status status) {
  switch (status) {
    case Status::kCreating:
      return "creating";
    case Status::kCreated:
      return "created";
    case Status::kRunning:
      return "running";
    case Status::kPaused:
      return "paused";
    case Status::kStopped:
      return "stopped";
  }
  return "unknown";
}

absl::Status ValidateId(const std::string& id) {
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid container id \"", id, "\": ", why));
  };
  if (id.empty()) return absl::InvalidArgumentError("container id cannot be empty");
  if (id.size() > 1024) return bad("longer than 1024 bytes");
  if (id == "." || id == "..") return bad("reserved name");
  // runc's rule: ^[\w+.-]+$ (so "_a", ".a" and "+a" are valid ids).
  for (char c : id) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum || c == '_' || c == '+' || c == '-' || c == '.') continue;
    return bad("only [A-Za-z0-9_+.-] are allowed");
  }
  return absl::OkStatus();
}

std::optional<uint64_t> ProcessStartTime(pid_t pid) {
  auto stat = gantry::ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return std::nullopt;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*stat).substr(close + 2), ' ');
  // fields[0] is field 3 (state); start time is field 22.
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return std::nullopt;
  uint64_t start;
  if (!absl::SimpleAtoi(fields[19], &start)) return std::nullopt;
  return start;
}

absl::StatusOr<ContainerState> StateStore::Load(const std::string& id) const {
  GANTRY_RETURN_IF_ERROR(ValidateId(id));
  auto doc = gantry::ReadJsonFile(Dir(id) + "/state.json");
  if (!doc.ok()) {
    if (doc.status().code() == absl::StatusCode::kNotFound)
      return absl::NotFoundError(absl::StrCat("container \"", id, "\" does not exist"));
    return doc.status();
  }
  ContainerState s;
  gantry::JsonReader r(*doc, "state.json");
  r.Required("id", s.id).Required("pid", s.pid).Required("pid_start_time", s.pid_start_time);
  r.Required("bundle", s.bundle).Optional("rootfs", s.rootfs).Optional("created", s.created);
  r.Optional("owner", s.owner).Optional("annotations", s.annotations);
  r.Optional("cgroup_paths", s.cgroup_paths).Optional("own_pid_namespace", s.own_pid_namespace);
  r.Optional("systemd_cgroup", s.systemd_cgroup);
  if (!r.ok()) return r.status();
  return s;
}

absl::Status StateStore::Save(const ContainerState& s) const {
  nlohmann::json doc = {
      {"id", s.id},
      {"pid", s.pid},
      {"pid_start_time", s.pid_start_time},
      {"bundle", s.bundle},
      {"rootfs", s.rootfs},
      {"created", s.created},
      {"owner", s.owner},
      {"annotations", s.annotations},
      {"cgroup_paths", s.cgroup_paths},
      {"own_pid_namespace", s.own_pid_namespace},
      {"systemd_cgroup", s.systemd_cgroup},
  };
  return gantry::WriteFileAtomic(Dir(s.id) + "/state.json", doc.dump(), 0600,
                                 gantry::Durability::kVolatile);
}

absl::Status StateStore::Remove(const std::string& id) const { return gantry::RemoveTree(Dir(id)); }

std::vector<std::string> StateStore::List() const {
  std::vector<std::string> ids;
  DIR* d = ::opendir(root_.c_str());
  if (!d) return ids;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || !ValidateId(name).ok()) continue;
    if (::access((Dir(name) + "/state.json").c_str(), F_OK) == 0) ids.push_back(name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status CurrentStatus(const StateStore& store, const ContainerState& state) {
  auto start = ProcessStartTime(state.pid);
  if (!start || *start != state.pid_start_time) return Status::kStopped;
  // Frozen first: a created container can be paused too (as with runc), and
  // `start` must then refuse it rather than wait on a frozen init.
  auto freezer = state.cgroup_paths.find("freezer");
  if (freezer != state.cgroup_paths.end()) {
    auto layout = cgroups::Layout::Discover();
    if (layout.ok()) {
      auto frozen = cgroups::Manager::FromPaths(state.cgroup_paths, *layout).IsFrozen();
      if (frozen.ok() && *frozen) return Status::kPaused;
    }
  }
  // The init blocks on the exec fifo until `start` opens and removes it.
  if (::access(store.ExecFifo(state.id).c_str(), F_OK) == 0) return Status::kCreated;
  return Status::kRunning;
}

nlohmann::json StateJson(const ContainerState& s, Status status) {
  // runc reports the runtime-spec version it implements, not the bundle's.
  nlohmann::json j = {
      {"ociVersion", "1.0.2-dev"},
      {"id", s.id},
      {"pid", status == Status::kStopped ? 0 : s.pid},
      {"status", StatusName(status)},
      {"bundle", s.bundle},
      {"rootfs", s.rootfs},
      {"created", s.created},
      {"owner", s.owner},
  };
  if (!s.annotations.empty()) j["annotations"] = s.annotations;
  return j;
}

}  // namespace ocirun
