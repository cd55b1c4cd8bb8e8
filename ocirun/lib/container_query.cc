// Read-only verbs: state, list, ps, stats.
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "ocirun/lib/cgroups/layout.h"
#include "ocirun/lib/cgroups/manager.h"
#include "ocirun/lib/container.h"

namespace ocirun {

absl::StatusOr<nlohmann::json> ContainerStateJson(const GlobalOptions& global,
                                                  const std::string& id) {
  StateStore store(global.root);
  GANTRY_ASSIGN_OR_RETURN(ContainerState state, store.Load(id));
  return StateJson(state, CurrentStatus(store, state));
}

std::vector<ListEntry> ListContainers(const GlobalOptions& global) {
  StateStore store(global.root);
  std::vector<ListEntry> out;
  for (const auto& id : store.List()) {
    auto state = store.Load(id);
    if (state.ok()) out.push_back({*state, CurrentStatus(store, *state)});
  }
  return out;
}

absl::StatusOr<std::vector<pid_t>> ContainerPids(const GlobalOptions& global,
                                                 const std::string& id) {
  StateStore store(global.root);
  GANTRY_ASSIGN_OR_RETURN(ContainerState state, store.Load(id));
  GANTRY_ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::Layout::Discover());
  return cgroups::Manager::FromPaths(state.cgroup_paths, layout).Pids();
}

absl::StatusOr<nlohmann::json> ContainerStats(const GlobalOptions& global, const std::string& id) {
  StateStore store(global.root);
  GANTRY_ASSIGN_OR_RETURN(ContainerState state, store.Load(id));
  if (CurrentStatus(store, state) == Status::kStopped)
    return absl::FailedPreconditionError("container not running");
  GANTRY_ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::Layout::Discover());
  return cgroups::Manager::FromPaths(state.cgroup_paths, layout).Stats();
}

absl::StatusOr<uint64_t> ContainerOomKills(const GlobalOptions& global, const std::string& id) {
  StateStore store(global.root);
  GANTRY_ASSIGN_OR_RETURN(ContainerState state, store.Load(id));
  GANTRY_ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::Layout::Discover());
  return cgroups::Manager::FromPaths(state.cgroup_paths, layout).OomKills();
}

}  // namespace ocirun
