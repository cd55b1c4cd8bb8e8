#include <chrono>
#include <thread>

#include "ocirun/lib/cgroups/controllers.h"

namespace ocirun::cgroups {

absl::Status SetFrozen(const Dir& dir, bool frozen) {
  if (dir.version == Version::kV2) {
    GANTRY_RETURN_IF_ERROR(WriteKnob(dir, "cgroup.freeze", frozen ? "1" : "0"));
    // Also asynchronous: cgroup.events says "frozen 1" once every task stopped,
    // and `state` right after `pause` must not still see "running".
    for (int i = 0; i < 1000; ++i) {
      auto state = ReadFrozen(dir);
      if (state.ok() && *state == frozen) return absl::OkStatus();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return absl::DeadlineExceededError("cgroup: freezer did not reach the requested state");
  }
  GANTRY_RETURN_IF_ERROR(WriteKnob(dir, "freezer.state", frozen ? "FROZEN" : "THAWED"));
  // v1 freezing is asynchronous: FREEZING turns into FROZEN once every task stops.
  for (int i = 0; i < 1000; ++i) {
    std::string state = ReadKnob(dir, "freezer.state");
    if (state == (frozen ? "FROZEN" : "THAWED")) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (frozen && i % 100 == 99) (void)WriteKnob(dir, "freezer.state", "FROZEN");
  }
  return absl::DeadlineExceededError("cgroup: freezer did not reach the requested state");
}

absl::StatusOr<bool> ReadFrozen(const Dir& dir) {
  if (dir.version == Version::kV2) {
    for (const auto& [k, v] : ReadFlatKeyed(dir, "cgroup.events"))
      if (k == "frozen") return v == 1;
    return false;
  }
  return ReadKnob(dir, "freezer.state") == "FROZEN";
}

}  // namespace ocirun::cgroups
