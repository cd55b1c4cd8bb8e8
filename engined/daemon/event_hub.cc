#include "engined/daemon/event_hub.h"

#include <optional>
#include <vector>

#include "absl/time/clock.h"

namespace gantry::engined {
namespace {

absl::Time EventTime(const nlohmann::json& event) {
  return absl::FromUnixNanos(event.value("timeNano", int64_t{0}));
}

}  // namespace

void EventHub::Publish(const std::string& type, const std::string& action, const std::string& id,
                       std::map<std::string, std::string> attributes) {
  const absl::Time now = absl::Now();
  nlohmann::json event = {
      {"Type", type},
      {"Action", action},
      {"Actor", {{"ID", id}, {"Attributes", attributes}}},
      {"scope", "local"},
      {"time", absl::ToUnixSeconds(now)},
      {"timeNano", absl::ToUnixNanos(now)},
  };
  // The fields of API < 1.22 the CLI still reads for containers.
  if (type == "container") {
    event["status"] = action;
    event["id"] = id;
    event["from"] = attributes["image"];
  }
  {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
    if (events_.size() > kKept) events_.pop_front();
    ++published_count_;
  }
  published_.notify_all();
}

void EventHub::Follow(absl::Time since, std::optional<absl::Time> until,
                      const std::function<bool(const nlohmann::json&)>& send) {
  std::unique_lock lock(mu_);
  // Position in the stream by count, so events dropped from the front of
  // the deque meanwhile do not shift what is new.
  uint64_t seen = published_count_ - events_.size();
  for (;;) {
    std::vector<nlohmann::json> batch;
    const uint64_t first = published_count_ - events_.size();
    for (uint64_t n = std::max(seen, first); n < published_count_; ++n) {
      batch.push_back(events_[n - first]);
    }
    seen = published_count_;
    lock.unlock();
    for (const nlohmann::json& event : batch) {
      const absl::Time time = EventTime(event);
      if (time < since) continue;
      if (until && time > *until) return;
      if (!send(event)) return;
    }
    lock.lock();
    if (closed_) return;
    if (until) {
      if (absl::Now() >= *until) return;
      published_.wait_for(lock,
                          absl::ToChronoSeconds(*until - absl::Now()) + std::chrono::seconds(1),
                          [&] { return closed_ || published_count_ != seen; });
    } else {
      published_.wait(lock, [&] { return closed_ || published_count_ != seen; });
    }
  }
}

void EventHub::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  published_.notify_all();
}

}  // namespace gantry::engined
