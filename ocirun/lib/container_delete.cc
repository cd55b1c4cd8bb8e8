#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/log.h"
#include "ocirun/lib/cgroups/layout.h"
#include "ocirun/lib/cgroups/manager.h"
#include "ocirun/lib/container.h"
#include "ocirun/lib/hooks.h"

namespace ocirun {
namespace {

// SIGKILLs every task of the container and waits until none is left.
absl::Status KillAll(const ContainerState& state, const cgroups::Manager& cgroup) {
  ::kill(state.pid, SIGKILL);
  (void)cgroup.Thaw();  // frozen tasks cannot die
  for (int i = 0; i < 1000; ++i) {
    auto pids = cgroup.Pids();
    bool init_alive = ProcessStartTime(state.pid).has_value();
    if (!init_alive && (!pids.ok() || pids->empty())) return absl::OkStatus();
    if (pids.ok())
      for (pid_t pid : *pids) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::DeadlineExceededError("container processes did not exit after SIGKILL");
}

}  // namespace

absl::Status DeleteContainer(const GlobalOptions& global, const std::string& id, bool force) {
  StateStore store(global.root);
  auto loaded = store.Load(id);
  if (!loaded.ok()) {
    // As runc: --force succeeds on a missing container (containerd's shim
    // force-deletes after a plain delete), removing a directory left
    // without a state file by a crash during create.
    if (force && loaded.status().code() == absl::StatusCode::kNotFound) {
      if (::access(store.Dir(id).c_str(), F_OK) == 0) return store.Remove(id);
      return absl::OkStatus();
    }
    return loaded.status();
  }
  ContainerState state = *loaded;
  Status status = CurrentStatus(store, state);
  GANTRY_ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::Layout::Discover());
  auto cgroup = cgroups::Manager::FromPaths(state.cgroup_paths, layout);

  if (status == Status::kRunning || status == Status::kPaused) {
    if (!force)
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot delete container ", id, " that is not stopped: ", StatusName(status)));
  }
  // A created container is deleted as runc does: its init never ran user code.
  if (status != Status::kStopped || !state.own_pid_namespace)
    GANTRY_RETURN_IF_ERROR(KillAll(state, cgroup));

  GANTRY_RETURN_IF_ERROR(cgroup.Destroy());
  // The poststop hooks of the config the container was created from.
  auto spec = LoadSpec(store.Dir(id));
  GANTRY_RETURN_IF_ERROR(store.Remove(id));
  if (spec.ok() && !spec->hooks.poststop.empty()) {
    auto st = RunHooks(spec->hooks.poststop, "poststop", StateJson(state, Status::kStopped).dump());
    if (!st.ok()) gantry::log::Warning(st.message());
  }
  return absl::OkStatus();
}

}  // namespace ocirun
