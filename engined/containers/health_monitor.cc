#include "engined/containers/health_monitor.h"

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace gantry::engined {
namespace {

constexpr size_t kMaxOutput = 4096;  // Docker keeps 4 KiB of a probe's output
constexpr size_t kKeptResults = 5;

absl::Duration NanosOr(const nlohmann::json& value, absl::Duration fallback) {
  if (!value.is_number_integer() || value.get<int64_t>() <= 0) return fallback;
  return absl::Nanoseconds(value.get<int64_t>());
}

}  // namespace

std::optional<HealthcheckConfig> ParseHealthcheck(const nlohmann::json& h) {
  if (!h.is_object() || !h.contains("Test") || !h["Test"].is_array() || h["Test"].empty()) {
    return std::nullopt;
  }
  std::vector<std::string> test;
  for (const nlohmann::json& part : h["Test"]) {
    if (part.is_string()) test.push_back(part.get<std::string>());
  }
  HealthcheckConfig config;
  if (test.empty() || test[0] == "NONE") return std::nullopt;
  if (test[0] == "CMD") {
    config.cmd.assign(test.begin() + 1, test.end());
  } else if (test[0] == "CMD-SHELL" && test.size() >= 2) {
    config.cmd = {"/bin/sh", "-c", test[1]};
  } else {
    return std::nullopt;
  }
  if (config.cmd.empty()) return std::nullopt;
  config.interval = NanosOr(h.value("Interval", nlohmann::json()), config.interval);
  config.timeout = NanosOr(h.value("Timeout", nlohmann::json()), config.timeout);
  config.start_period = NanosOr(h.value("StartPeriod", nlohmann::json()), config.start_period);
  if (const nlohmann::json r = h.value("Retries", nlohmann::json());
      r.is_number_integer() && r.get<int>() > 0) {
    config.retries = r.get<int>();
  }
  return config;
}

HealthMonitor::HealthMonitor(ContainerManager& containers, ExecManager& execs, EventHub& events)
    : containers_(containers), execs_(execs), events_(events) {}

HealthMonitor::~HealthMonitor() { Stop(); }

void HealthMonitor::Start() {
  const absl::Time since = absl::Now();
  for (const Container& c : containers_.List()) {
    if (c.state.Running()) Watch(c.id);
  }
  follower_ = std::thread([this, since] {
    events_.Follow(since, std::nullopt, [this](const nlohmann::json& event) {
      if (stopping_) return false;
      if (event.value("Type", "") == "container" && event.value("Action", "") == "start") {
        Watch(event["Actor"].value("ID", ""));
      }
      return true;
    });
  });
}

void HealthMonitor::Stop() {
  stopping_ = true;
  changed_.notify_all();
  events_.Close();  // engined is stopping: Follow returns
  if (follower_.joinable()) follower_.join();
  threads_.JoinAll();
}

void HealthMonitor::Watch(const std::string& id) {
  absl::StatusOr<Container> c = containers_.Get(id);
  if (!c.ok()) return;
  std::optional<HealthcheckConfig> config =
      ParseHealthcheck(c->config.value("Healthcheck", nlohmann::json()));
  if (!config) return;
  const absl::Time started = c->state.started_at;
  // One loop per run of the container: a loop of an earlier run ends by
  // itself once it sees the new start time.
  const std::string run = absl::StrCat(id, "@", absl::ToUnixNanos(started));
  {
    std::lock_guard lock(mu_);
    if (!watched_.insert(run).second) return;  // its loop runs already
  }
  (void)containers_.SetHealth(
      id, {{"Status", "starting"}, {"FailingStreak", 0}, {"Log", nlohmann::json::array()}});
  threads_.Spawn([this, id, run, config = *config, started] {
    while (true) {
      {
        std::unique_lock lock(mu_);
        changed_.wait_for(lock, absl::ToChronoNanoseconds(config.interval),
                          [this] { return stopping_.load(); });
      }
      absl::StatusOr<Container> now = containers_.Get(id);
      if (stopping_ || !now.ok() || !now->state.Running() || now->state.started_at != started) {
        break;
      }
      Probe(id, config, started);
    }
    std::lock_guard lock(mu_);
    watched_.erase(run);
  });
}

void HealthMonitor::Probe(const std::string& id, const HealthcheckConfig& config,
                          absl::Time started) {
  struct Run {
    std::mutex mu;
    std::condition_variable done_cv;
    bool done = false;
    std::string output;
  };
  auto run = std::make_shared<Run>();
  const absl::Time start = absl::Now();
  int exit_code = -1;
  absl::StatusOr<std::string> exec_id =
      execs_.Create(id, {{"Cmd", config.cmd}, {"AttachStdout", true}, {"AttachStderr", true}});
  absl::Status status = exec_id.status();
  if (status.ok()) {
    status = execs_.Start(
        *exec_id,
        [run](int, absl::string_view data) {
          std::lock_guard lock(run->mu);
          if (run->output.size() < kMaxOutput) {
            absl::StrAppend(&run->output, data.substr(0, kMaxOutput - run->output.size()));
          }
        },
        [run] {
          std::lock_guard lock(run->mu);
          run->done = true;
          run->done_cv.notify_all();
        });
  }
  std::string output;
  if (status.ok()) {
    std::unique_lock lock(run->mu);
    if (run->done_cv.wait_for(lock, absl::ToChronoNanoseconds(config.timeout),
                              [&] { return run->done; })) {
      output = run->output;
      lock.unlock();
      absl::StatusOr<nlohmann::json> inspect = execs_.Inspect(*exec_id);
      // No exit code when the exec was cut off (engined stopping).
      if (inspect.ok() && (*inspect)["ExitCode"].is_number_integer()) {
        exit_code = (*inspect)["ExitCode"].get<int>();
      }
    } else {
      // As Docker: a probe past its timeout is killed, not left to pile up.
      lock.unlock();
      (void)execs_.Kill(*exec_id, SIGKILL);
      output = absl::StrCat("Health check exceeded timeout (", absl::FormatDuration(config.timeout),
                            ")");
    }
  } else {
    output = std::string(status.message());
  }

  absl::StatusOr<Container> c = containers_.Get(id);
  if (!c.ok() || c->state.started_at != started) return;
  nlohmann::json health = c->state.health.is_object()
                              ? c->state.health
                              : nlohmann::json{{"Status", "starting"}, {"FailingStreak", 0}};
  nlohmann::json log = health.value("Log", nlohmann::json::array());
  log.push_back({{"Start", DockerTime(start)},
                 {"End", DockerTime(absl::Now())},
                 {"ExitCode", exit_code},
                 {"Output", output}});
  while (log.size() > kKeptResults) log.erase(log.begin());
  health["Log"] = log;
  if (exit_code == 0) {
    health["Status"] = "healthy";
    health["FailingStreak"] = 0;
  } else if (absl::Now() - started >= config.start_period) {
    // Failures while the container starts up do not count (StartPeriod).
    const int streak = health.value("FailingStreak", 0) + 1;
    health["FailingStreak"] = streak;
    if (streak >= config.retries) health["Status"] = "unhealthy";
  }
  if (absl::Status saved = containers_.SetHealth(id, health); !saved.ok()) {
    log::Warning("engined: health of ", id, ": ", saved.message());
  }
}

}  // namespace gantry::engined
