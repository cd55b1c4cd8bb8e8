// A single-threaded epoll loop: the shim does all its work (API calls,
// copying stdio, reaping children) from one thread, and sleeps when idle.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace gantry::shim {

class EventLoop {
 public:
  // Called with the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLHUP ...).
  using Handler = std::function<void(uint32_t events)>;

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();

  // Watches `fd` (which the caller keeps open until Remove).
  absl::Status Add(int fd, uint32_t events, Handler handler);
  absl::Status Modify(int fd, uint32_t events);
  // Stops watching; safe from inside any handler, including fd's own.
  void Remove(int fd);

  // Dispatches events until Stop.
  absl::Status Run();
  void Stop() { stopped_ = true; }

 private:
  explicit EventLoop(UniqueFd epoll) : epoll_(std::move(epoll)) {}

  UniqueFd epoll_;
  // Shared so a handler that removes itself stays alive until it returns.
  std::unordered_map<int, std::shared_ptr<Handler>> handlers_;
  bool stopped_ = false;
};

}  // namespace gantry::shim
