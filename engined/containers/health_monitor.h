// Docker's HEALTHCHECK: for each running container whose Config.Healthcheck
// has a test, the probe runs as an exec every Interval (Timeout each,
// failures during StartPeriod not counted); Retries failures in a row make
// it "unhealthy", a success "healthy". The state (status, failing streak,
// the last 5 results) is kept with the container, shown by inspect and ps,
// and each change is a "health_status: ..." event.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/time/time.h"
#include "common/thread_group.h"
#include "engined/containers/container_manager.h"
#include "engined/containers/exec_manager.h"
#include "engined/daemon/event_hub.h"

namespace gantry::engined {

// Config.Healthcheck read with Docker's defaults; no probe for an empty or
// ["NONE"] test.
struct HealthcheckConfig {
  std::vector<std::string> cmd;  // the exec's Cmd ("CMD-SHELL x" is sh -c x)
  absl::Duration interval = absl::Seconds(30);
  absl::Duration timeout = absl::Seconds(30);
  absl::Duration start_period = absl::ZeroDuration();
  int retries = 3;
};
std::optional<HealthcheckConfig> ParseHealthcheck(const nlohmann::json& healthcheck);

class HealthMonitor {
 public:
  HealthMonitor(ContainerManager& containers, ExecManager& execs, EventHub& events);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Follows the containers' start events (and probes those running now)
  // until Stop, which closes the event hub: engined is stopping.
  void Start();
  void Stop();

 private:
  void Watch(const std::string& id);
  void Probe(const std::string& id, const HealthcheckConfig& config, absl::Time started);

  ContainerManager& containers_;
  ExecManager& execs_;
  EventHub& events_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::set<std::string> watched_;  // "id@start time" of the runs with a probe loop
  std::atomic<bool> stopping_ = false;
  ThreadGroup threads_;
  std::thread follower_;
};

}  // namespace gantry::engined
