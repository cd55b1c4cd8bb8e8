#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ocirun/lib/cgroups/controllers.h"

namespace ocirun::cgroups {
namespace {

// -1 means unlimited in the spec; v2 spells it "max".
std::string V2Limit(int64_t v) { return v < 0 ? "max" : std::to_string(v); }

absl::Status SetMemoryV1(const Dir& dir, const Resources::Memory& m) {
  // memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes: when
  // raising both, swap goes first; when lowering, the limit goes first.
  bool has_swap_file = !ReadKnob(dir, "memory.memsw.limit_in_bytes").empty();
  // As runc: lifting the memory limit lifts the memory+swap one too, which
  // the kernel would otherwise keep below it and refuse the new limit.
  std::optional<int64_t> swap = m.swap;
  if (!swap && m.limit && *m.limit == -1 && has_swap_file) swap = -1;
  bool swap_first = false;
  if (swap && m.limit && has_swap_file) {
    int64_t current = 0;
    absl::SimpleAtoi(ReadKnob(dir, "memory.limit_in_bytes"), &current);
    swap_first = *m.limit == -1 || *m.limit > current;
  }
  auto set_swap = [&]() -> absl::Status {
    if (!swap) return absl::OkStatus();
    if (!has_swap_file) {
      if (*swap == -1 || (m.limit && *swap == *m.limit)) return absl::OkStatus();
      return absl::FailedPreconditionError(
          "linux.resources.memory.swap: the host's kernel has no swap accounting");
    }
    return WriteKnob(dir, "memory.memsw.limit_in_bytes", std::to_string(*swap));
  };
  if (swap_first) {
    if (auto st = set_swap(); !st.ok()) return st;
  }
  if (m.limit) {
    if (auto st = WriteKnob(dir, "memory.limit_in_bytes", std::to_string(*m.limit)); !st.ok())
      return st;
  }
  if (!swap_first) {
    if (auto st = set_swap(); !st.ok()) return st;
  }
  if (m.reservation) {
    if (auto st = WriteKnob(dir, "memory.soft_limit_in_bytes", std::to_string(*m.reservation));
        !st.ok())
      return st;
  }
  if (m.swappiness) {
    if (*m.swappiness > 100)
      return absl::InvalidArgumentError(absl::StrCat(
          "linux.resources.memory.swappiness: ", *m.swappiness, " is out of range 0-100"));
    if (auto st = WriteKnob(dir, "memory.swappiness", std::to_string(*m.swappiness)); !st.ok())
      return st;
  }
  if (m.disable_oom_killer && *m.disable_oom_killer)
    return WriteKnob(dir, "memory.oom_control", "1");
  return absl::OkStatus();
}

absl::Status SetMemoryV2(const Dir& dir, const Resources::Memory& m) {
  if (m.limit) {
    if (auto st = WriteKnob(dir, "memory.max", V2Limit(*m.limit)); !st.ok()) return st;
  }
  if (m.swap) {
    // The spec's swap is memory+swap (v1 semantics); v2 limits swap alone.
    int64_t swap = *m.swap;
    if (swap > 0 && m.limit && *m.limit > 0) {
      if (swap < *m.limit)
        return absl::InvalidArgumentError(
            "linux.resources.memory.swap: must be at least memory.limit");
      swap -= *m.limit;
    }
    if (swap < -1)
      return absl::InvalidArgumentError(
          absl::StrCat("linux.resources.memory.swap: invalid value ", swap));
    if (auto st = WriteKnob(dir, "memory.swap.max", V2Limit(swap)); !st.ok()) return st;
  }
  if (m.reservation) {
    if (auto st = WriteKnob(dir, "memory.low", V2Limit(*m.reservation)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SetMemory(const Dir& dir, const Resources::Memory& memory) {
  Resources::Memory m = memory;
  ZeroMeansUnset(m.limit);
  ZeroMeansUnset(m.swap);
  ZeroMeansUnset(m.reservation);
  return dir.version == Version::kV1 ? SetMemoryV1(dir, m) : SetMemoryV2(dir, m);
}

void MemoryStats(const Dir& dir, nlohmann::json& out) {
  uint64_t usage = 0, limit = 0, max_usage = 0, failcnt = 0;
  if (dir.version == Version::kV1) {
    absl::SimpleAtoi(ReadKnob(dir, "memory.usage_in_bytes"), &usage);
    absl::SimpleAtoi(ReadKnob(dir, "memory.limit_in_bytes"), &limit);
    absl::SimpleAtoi(ReadKnob(dir, "memory.max_usage_in_bytes"), &max_usage);
    absl::SimpleAtoi(ReadKnob(dir, "memory.failcnt"), &failcnt);
  } else {
    absl::SimpleAtoi(ReadKnob(dir, "memory.current"), &usage);
    absl::SimpleAtoi(ReadKnob(dir, "memory.max"), &limit);
    absl::SimpleAtoi(ReadKnob(dir, "memory.peak"), &max_usage);
  }
  nlohmann::json stats = nlohmann::json::object();
  for (const auto& [k, v] : ReadFlatKeyed(dir, "memory.stat")) stats[k] = v;
  out["memory"] = {
      {"usage", {{"usage", usage}, {"limit", limit}, {"max", max_usage}, {"failcnt", failcnt}}},
      {"raw", stats}};
}

}  // namespace ocirun::cgroups
