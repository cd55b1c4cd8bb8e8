// pause, resume and update: verbs that change a live container's cgroup.
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "ocirun/lib/cgroups/layout.h"
#include "ocirun/lib/cgroups/manager.h"
#include "ocirun/lib/container.h"

namespace ocirun {
namespace {

struct LiveContainer {
  ContainerState state;
  Status status;
  cgroups::Layout layout;
};

absl::StatusOr<LiveContainer> LoadLive(const GlobalOptions& global, const std::string& id) {
  StateStore store(global.root);
  GANTRY_ASSIGN_OR_RETURN(ContainerState state, store.Load(id));
  Status status = CurrentStatus(store, state);
  GANTRY_ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::Layout::Discover());
  return LiveContainer{std::move(state), status, std::move(layout)};
}

}  // namespace

absl::Status PauseContainer(const GlobalOptions& global, const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(LiveContainer c, LoadLive(global, id));
  if (c.status != Status::kRunning && c.status != Status::kCreated)
    return absl::FailedPreconditionError(
        absl::StrCat("container ", id, " is not running: ", StatusName(c.status)));
  return cgroups::Manager::FromPaths(c.state.cgroup_paths, c.layout).Freeze();
}

absl::Status ResumeContainer(const GlobalOptions& global, const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(LiveContainer c, LoadLive(global, id));
  if (c.status != Status::kPaused)
    return absl::FailedPreconditionError(absl::StrCat("container ", id, " is not paused"));
  return cgroups::Manager::FromPaths(c.state.cgroup_paths, c.layout).Thaw();
}

absl::Status UpdateContainer(const GlobalOptions& global, const std::string& id,
                             const Resources& resources) {
  GANTRY_ASSIGN_OR_RETURN(LiveContainer c, LoadLive(global, id));
  if (c.status == Status::kStopped)
    return absl::FailedPreconditionError(absl::StrCat("container ", id, " is not running"));
  return cgroups::Manager::FromPaths(c.state.cgroup_paths, c.layout).SetResources(resources);
}

}  // namespace ocirun
