#include <signal.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "ocirun/lib/cgroups/layout.h"
#include "ocirun/lib/cgroups/manager.h"
#include "ocirun/lib/container.h"

namespace ocirun {

absl::Status KillContainer(const GlobalOptions& global, const std::string& id, int signal,
                           bool all) {
  StateStore store(global.root);
  GANTRY_ASSIGN_OR_RETURN(ContainerState state, store.Load(id));
  Status status = CurrentStatus(store, state);
  if (status == Status::kStopped && !all)
    return absl::FailedPreconditionError("container not running");
  if (all) {
    GANTRY_ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::Layout::Discover());
    auto cgroup = cgroups::Manager::FromPaths(state.cgroup_paths, layout);
    GANTRY_ASSIGN_OR_RETURN(std::vector<pid_t> pids, cgroup.Pids());
    for (pid_t pid : pids) ::kill(pid, signal);
    // Stopped tasks of a paused container must wake to see the signal.
    if (status == Status::kPaused && signal == SIGKILL) (void)cgroup.Thaw();
    return absl::OkStatus();
  }
  if (::kill(state.pid, signal) != 0) return gantry::LastErrno(absl::StrCat("kill ", id));
  return absl::OkStatus();
}

}  // namespace ocirun
