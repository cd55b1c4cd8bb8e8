// `docker stats` figures from one reading of /containers/{id}/stats, computed
// as the docker CLI computes them (cli/command/container/stats_helpers.go):
// CPU % from the change since precpu_stats, memory without the inactive
// page cache, network and block I/O summed over interfaces and devices.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace gantry::cli {

inline constexpr char kStatsTable[] =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"
    "\t{{.PIDs}}";

struct StatsEntry {
  std::string container;  // as the user named it, or the short ID
  std::string id;
  std::string name;  // "/web"
  double cpu_percent = 0;
  double memory = 0;
  double memory_limit = 0;
  double memory_percent = 0;
  double network_rx = 0;
  double network_tx = 0;
  double block_read = 0;
  double block_write = 0;
  uint64_t pids = 0;
  // The reading failed (shown as "--"); before the first one, zeros show,
  // as docker's.
  bool invalid = false;
};

// (Δ container CPU time / Δ system CPU time) × online CPUs × 100, 0 when
// either did not advance.
double CpuPercent(const nlohmann::json& stats);
// Usage less inactive_file (cgroup v2) or total_inactive_file (v1).
double MemoryUsageNoCache(const nlohmann::json& memory_stats);

// `stats` read into `entry` (its container name kept).
void UpdateStatsEntry(StatsEntry& entry, const nlohmann::json& stats);

// The fields docker's --format sees: Container, ID (12 characters unless
// `no_trunc`), Name, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs; "--"
// for an entry without a reading.
nlohmann::json StatsRow(const StatsEntry& entry, bool no_trunc);
const nlohmann::json& StatsHeaders();

}  // namespace gantry::cli
