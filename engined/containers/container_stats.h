// `docker stats`: a container's cgroup counters (from its shim, through
// contd's Tasks.Metrics) in Docker's StatsJSON shape, from which the CLI
// computes CPU % (against the host's total CPU time) and memory use.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "engined/containers/container.h"
#include "engined/contd/contd_client.h"

namespace gantry::engined {

// One reading: Docker's cpu_stats/memory_stats/pids_stats members and the
// time it was taken.
struct StatsSample {
  absl::Time read;
  nlohmann::json cpu_stats;
  nlohmann::json memory_stats;
  nlohmann::json pids_stats;
};

// NOT_FOUND when the container has no running task.
absl::StatusOr<StatsSample> SampleStats(ContdClient& contd, const std::string& id);

// Docker's StatsJSON: `now`, with `previous` as precpu_stats (empty when
// there is none).
nlohmann::json DockerStats(const Container& container, const StatsSample& now,
                           const std::optional<StatsSample>& previous);

}  // namespace gantry::engined
