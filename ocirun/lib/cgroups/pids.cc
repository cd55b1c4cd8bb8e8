#include "absl/strings/numbers.h"
#include "ocirun/lib/cgroups/controllers.h"

namespace ocirun::cgroups {

absl::Status SetPids(const Dir& dir, int64_t limit) {
  // The spec uses 0 or -1 for "no limit" (runc treats both as max).
  return WriteKnob(dir, "pids.max", limit <= 0 ? "max" : std::to_string(limit));
}

void PidsStats(const Dir& dir, nlohmann::json& out) {
  uint64_t current = 0, limit = 0;
  absl::SimpleAtoi(ReadKnob(dir, "pids.current"), &current);
  absl::SimpleAtoi(ReadKnob(dir, "pids.max"), &limit);  // "max" leaves 0, as runc reports
  out["pids"] = {{"current", current}, {"limit", limit}};
}

}  // namespace ocirun::cgroups
