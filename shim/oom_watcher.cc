#include "shim/oom_watcher.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "ocirun/lib/cgroups/layout.h"

namespace gantry::shim {
namespace {

// The directory of `pid`'s cgroup in `hierarchy`, from /proc/PID/cgroup.
absl::StatusOr<std::string> CgroupDir(pid_t pid, const ocirun::cgroups::Hierarchy& hierarchy) {
  GANTRY_ASSIGN_OR_RETURN(std::string lines, ReadFile(absl::StrCat("/proc/", pid, "/cgroup")));
  for (absl::string_view line : absl::StrSplit(lines, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    const bool match = hierarchy.version == ocirun::cgroups::Version::kV2
                           ? fields[0] == "0" && fields[1].empty()
                           : absl::StrContains(absl::StrCat(",", fields[1], ","), ",memory,");
    if (match) return absl::StrCat(hierarchy.mount_point, fields[2]);
  }
  return absl::NotFoundError(absl::StrCat("memory cgroup of process ", pid));
}

}  // namespace

absl::StatusOr<std::unique_ptr<OomWatcher>> OomWatcher::Watch(EventLoop& loop, pid_t pid,
                                                              std::function<void()> on_oom) {
  GANTRY_ASSIGN_OR_RETURN(ocirun::cgroups::Layout layout, ocirun::cgroups::Layout::Discover());
  const ocirun::cgroups::Hierarchy* memory = layout.Find("memory");
  if (!memory) return nullptr;
  GANTRY_ASSIGN_OR_RETURN(std::string dir, CgroupDir(pid, *memory));
  const bool v2 = memory->version == ocirun::cgroups::Version::kV2;
  std::unique_ptr<OomWatcher> watcher(
      new OomWatcher(loop, absl::StrCat(dir, v2 ? "/memory.events" : "/memory.oom_control"), v2,
                     std::move(on_oom)));
  if (v2) {
    watcher->notify_.Reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!watcher->notify_) return LastErrno("inotify_init1");
    if (::inotify_add_watch(watcher->notify_.get(), watcher->counters_path_.c_str(), IN_MODIFY) <
        0) {
      return LastErrno(absl::StrCat("inotify ", watcher->counters_path_));
    }
  } else {
    watcher->notify_.Reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!watcher->notify_) return LastErrno("eventfd");
    watcher->oom_control_.Reset(::open(watcher->counters_path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!watcher->oom_control_) return LastErrno(watcher->counters_path_);
    GANTRY_RETURN_IF_ERROR(
        WriteExistingFile(absl::StrCat(dir, "/cgroup.event_control"),
                          absl::StrCat(watcher->notify_.get(), " ", watcher->oom_control_.get())));
  }
  watcher->kills_ = watcher->OomKills();
  OomWatcher* raw = watcher.get();
  GANTRY_RETURN_IF_ERROR(
      loop.Add(raw->notify_.get(), EPOLLIN, [raw](uint32_t) { raw->OnEvent(); }));
  return watcher;
}

OomWatcher::~OomWatcher() { Stop(); }

void OomWatcher::Stop() {
  if (!notify_) return;
  loop_.Remove(notify_.get());
  notify_.Reset();
  oom_control_.Reset();
}

uint64_t OomWatcher::OomKills() const {
  absl::StatusOr<std::string> counters = ReadFile(counters_path_);
  if (!counters.ok()) return kills_;
  for (absl::string_view line : absl::StrSplit(*counters, '\n')) {
    uint64_t value = 0;
    if (absl::ConsumePrefix(&line, "oom_kill ") && absl::SimpleAtoi(line, &value)) return value;
  }
  return kills_;
}

void OomWatcher::OnEvent() {
  char buffer[4096];
  (void)::read(notify_.get(), buffer, sizeof(buffer));
  // v1 also signals the eventfd when the cgroup is removed.
  if (::access(counters_path_.c_str(), F_OK) != 0) return Stop();
  if (!v2_) {
    // v1 signals when the cgroup hits its limit, before the killer has
    // counted its kill: report it as containerd does, without the counter.
    on_oom_();
    return;
  }
  // v2's memory.events changes for every counter: only a new kill counts.
  const uint64_t kills = OomKills();
  if (kills <= kills_) return;
  kills_ = kills;
  on_oom_();
}

}  // namespace gantry::shim
