// Reports OOM kills in a container's memory cgroup: cgroup v1's
// memory.oom_control eventfd, or inotify on cgroup v2's memory.events.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "shim/event_loop.h"

namespace gantry::shim {

class OomWatcher {
 public:
  // Watches the memory cgroup `pid` is in. Null when the host has no memory
  // controller (nothing to watch).
  static absl::StatusOr<std::unique_ptr<OomWatcher>> Watch(EventLoop& loop, pid_t pid,
                                                           std::function<void()> on_oom);
  ~OomWatcher();

 private:
  OomWatcher(EventLoop& loop, std::string counters_path, bool v2, std::function<void()> on_oom)
      : loop_(loop),
        counters_path_(std::move(counters_path)),
        v2_(v2),
        on_oom_(std::move(on_oom)) {}
  void OnEvent();
  // "oom_kill" from memory.oom_control (v1) or memory.events (v2).
  uint64_t OomKills() const;
  void Stop();

  EventLoop& loop_;
  std::string counters_path_;
  bool v2_;
  std::function<void()> on_oom_;
  UniqueFd notify_;  // eventfd (v1) or inotify (v2)
  UniqueFd oom_control_;
  uint64_t kills_ = 0;
};

}  // namespace gantry::shim
