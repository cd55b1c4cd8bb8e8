#include "shim/event_loop.h"

#include <cerrno>

#include "common/errors.h"

namespace gantry::shim {

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) return LastErrno("epoll_create1");
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll)));
}

absl::Status EventLoop::Add(int fd, uint32_t events, Handler handler) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    return LastErrno("epoll_ctl ADD");
  }
  handlers_[fd] = std::make_shared<Handler>(std::move(handler));
  return absl::OkStatus();
}

absl::Status EventLoop::Modify(int fd, uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event) != 0) {
    return LastErrno("epoll_ctl MOD");
  }
  return absl::OkStatus();
}

void EventLoop::Remove(int fd) {
  if (handlers_.erase(fd) == 0) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

absl::Status EventLoop::Run() {
  epoll_event events[16];
  while (!stopped_) {
    const int count = ::epoll_wait(epoll_.get(), events, 16, -1);
    if (count < 0) {
      if (errno == EINTR) continue;
      return LastErrno("epoll_wait");
    }
    for (int i = 0; i < count && !stopped_; ++i) {
      // A handler earlier in this batch may have removed this fd.
      auto found = handlers_.find(events[i].data.fd);
      if (found == handlers_.end()) continue;
      std::shared_ptr<Handler> handler = found->second;
      (*handler)(events[i].events);
    }
  }
  return absl::OkStatus();
}

}  // namespace gantry::shim
