#include "engined/containers/container_io.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"

namespace gantry::engined {
namespace {

// Opened read-write, as the shim does: neither side then sees EOF or
// SIGPIPE when the other comes and goes (engined restarts, the shim is
// replaced), and the end of the output is signalled by the exit instead.
absl::StatusOr<UniqueFd> OpenFifo(const std::string& path, bool nonblocking) {
  if (::mkfifo(path.c_str(), 0600) != 0 && errno != EEXIST) {
    return LastErrno(absl::StrCat("mkfifo ", path));
  }
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0)));
  if (!fd) return LastErrno(absl::StrCat("open ", path));
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContainerIo>> ContainerIo::Open(const std::string& dir, bool tty,
                                                               bool with_stdin) {
  GANTRY_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  std::unique_ptr<ContainerIo> io(new ContainerIo());
  if (with_stdin) {
    io->stdin_path_ = dir + "/stdin";
    GANTRY_ASSIGN_OR_RETURN(io->stdin_, OpenFifo(io->stdin_path_, false));
  }
  io->stdout_path_ = dir + "/stdout";
  GANTRY_ASSIGN_OR_RETURN(io->stdout_, OpenFifo(io->stdout_path_, true));
  if (!tty) {
    io->stderr_path_ = dir + "/stderr";
    GANTRY_ASSIGN_OR_RETURN(io->stderr_, OpenFifo(io->stderr_path_, true));
  }
  io->wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!io->wake_) return LastErrno("eventfd");
  io->relay_ = std::thread([raw = io.get()] { raw->Relay(); });
  return io;
}

ContainerIo::~ContainerIo() {
  Finish();
  if (relay_.joinable()) relay_.join();
}

void ContainerIo::Relay() {
  std::vector<char> buffer(32 * 1024);
  // Reads one FIFO until it is empty; false once it has nothing more.
  auto drain = [&](int fd, int stream) {
    for (;;) {
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n > 0) {
        Deliver(stream, absl::string_view(buffer.data(), static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return;
    }
  };
  for (;;) {
    pollfd fds[3] = {
        {wake_.get(), POLLIN, 0}, {stdout_.get(), POLLIN, 0}, {stderr_.get(), POLLIN, 0}};
    const nfds_t count = stderr_ ? 3 : 2;
    if (::poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents & POLLIN) drain(stdout_.get(), 1);
    if (count == 3 && (fds[2].revents & POLLIN)) drain(stderr_.get(), 2);
    if (fds[0].revents & POLLIN) {
      // The shim drained its pipes into the FIFOs before reporting the
      // exit, so what is left in them now is the last of the output.
      drain(stdout_.get(), 1);
      if (stderr_) drain(stderr_.get(), 2);
      break;
    }
  }
  DetachAll();
}

void ContainerIo::Deliver(int stream, absl::string_view data) {
  std::lock_guard lock(mu_);
  for (auto& [handle, client] : clients_) client.sink(stream, data);
}

int ContainerIo::Attach(Sink sink, std::function<void()> on_end) {
  std::lock_guard lock(mu_);
  const int handle = next_handle_++;
  clients_.emplace(handle, Client{std::move(sink), std::move(on_end)});
  return handle;
}

void ContainerIo::Detach(int handle) {
  std::function<void()> on_end;
  {
    std::lock_guard lock(mu_);
    auto it = clients_.find(handle);
    if (it == clients_.end()) return;
    on_end = std::move(it->second.on_end);
    clients_.erase(it);
  }
  if (on_end) on_end();
}

void ContainerIo::DetachAll() {
  std::map<int, Client> detached;
  {
    std::lock_guard lock(mu_);
    detached.swap(clients_);
  }
  for (auto& [handle, client] : detached) {
    if (client.on_end) client.on_end();
  }
}

absl::Status ContainerIo::WriteStdin(absl::string_view data) {
  if (!stdin_) return absl::FailedPreconditionError("the container has no stdin");
  while (!data.empty()) {
    ssize_t n = ::write(stdin_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastErrno(absl::StrCat("write ", stdin_path_));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

void ContainerIo::Finish() {
  const uint64_t one = 1;
  if (wake_) (void)!::write(wake_.get(), &one, sizeof(one));
}

}  // namespace gantry::engined
