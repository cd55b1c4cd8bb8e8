#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ocirun/lib/cgroups/controllers.h"

namespace ocirun::cgroups {

absl::Status SetCpu(const Dir& dir, const Resources::Cpu& cpu) {
  Resources::Cpu c = cpu;
  ZeroMeansUnset(c.shares);
  ZeroMeansUnset(c.quota);
  ZeroMeansUnset(c.period);
  ZeroMeansUnset(c.realtime_period);
  ZeroMeansUnset(c.realtime_runtime);
  if (dir.version == Version::kV1) {
    if (c.shares) GANTRY_RETURN_IF_ERROR(WriteKnob(dir, "cpu.shares", std::to_string(*c.shares)));
    if (c.period)
      GANTRY_RETURN_IF_ERROR(WriteKnob(dir, "cpu.cfs_period_us", std::to_string(*c.period)));
    if (c.quota)
      GANTRY_RETURN_IF_ERROR(WriteKnob(dir, "cpu.cfs_quota_us", std::to_string(*c.quota)));
    if (c.realtime_period)
      GANTRY_RETURN_IF_ERROR(
          WriteKnob(dir, "cpu.rt_period_us", std::to_string(*c.realtime_period)));
    if (c.realtime_runtime)
      GANTRY_RETURN_IF_ERROR(
          WriteKnob(dir, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime)));
    return absl::OkStatus();
  }
  if (c.shares) {
    // runc's conversion of v1 shares [2, 262144] to v2 weight [1, 10000]. v1
    // clamps shares to that range, so clamp first: 1 would underflow.
    uint64_t shares = std::clamp<uint64_t>(*c.shares, 2, 262144);
    uint64_t weight = *c.shares == 0 ? 0 : 1 + ((shares - 2) * 9999) / 262142;
    if (weight) GANTRY_RETURN_IF_ERROR(WriteKnob(dir, "cpu.weight", std::to_string(weight)));
  }
  if (c.quota || c.period) {
    std::string quota = (!c.quota || *c.quota < 0) ? "max" : std::to_string(*c.quota);
    uint64_t period = c.period.value_or(100000);
    GANTRY_RETURN_IF_ERROR(WriteKnob(dir, "cpu.max", absl::StrCat(quota, " ", period)));
  }
  if (c.realtime_period || c.realtime_runtime)
    return absl::FailedPreconditionError(
        "linux.resources.cpu.realtimeRuntime: not supported with cgroup v2");
  return absl::OkStatus();
}

absl::Status SetCpuset(const Dir& dir, const Resources::Cpu& c) {
  const char* cpus = dir.version == Version::kV1 ? "cpuset.cpus" : "cpuset.cpus";
  if (!c.cpus.empty()) GANTRY_RETURN_IF_ERROR(WriteKnob(dir, cpus, c.cpus));
  if (!c.mems.empty()) GANTRY_RETURN_IF_ERROR(WriteKnob(dir, "cpuset.mems", c.mems));
  return absl::OkStatus();
}

void CpuStats(const Dir& dir, nlohmann::json& out) {
  uint64_t total = 0;
  nlohmann::json throttling = nlohmann::json::object();
  if (dir.version == Version::kV1) {
    absl::SimpleAtoi(ReadKnob(dir, "cpuacct.usage"), &total);
  } else {
    auto stat = ReadFlatKeyed(dir, "cpu.stat");
    total = stat["usage_usec"] * 1000;
    throttling = {{"periods", stat["nr_periods"]},
                  {"throttledPeriods", stat["nr_throttled"]},
                  {"throttledTime", stat["throttled_usec"] * 1000}};
  }
  out["cpu"] = {{"usage", {{"total", total}}}, {"throttling", throttling}};
}

}  // namespace ocirun::cgroups
