#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/unix_socket.h"
#include "ocirun/cli/commands.h"
#include "ocirun/lib/process_util.h"

namespace ocirun::cli {
namespace {

// Puts our terminal in raw mode while relaying, restoring it on every exit path.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
    struct termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_;
  struct termios saved_ {};
  bool active_ = false;
};

void CopyWindowSize(int from, int to) {
  struct winsize ws;
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// Copies what is readable now; false at EOF or error.
bool Pump(int from, int to) {
  char buf[8192];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && errno == EINTR;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += w;
  }
  return true;
}

}  // namespace

absl::StatusOr<Relay> Relay::Make() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return gantry::LastErrno("console socketpair");
  Relay r;
  r.our_end_.Reset(sv[0]);
  r.child_end_.Reset(sv[1]);
  return r;
}

absl::StatusOr<int> Relay::Run(pid_t child, bool terminal) {
  gantry::UniqueFd master;
  if (terminal && our_end_) {
    GANTRY_ASSIGN_OR_RETURN(gantry::ReceivedFd received, gantry::RecvFd(our_end_.get()));
    if (!received.fd) return absl::InternalError("console: no pty master received");
    master = std::move(received.fd);
  }
  child_end_.Reset();

  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  gantry::UniqueFd signals(::signalfd(-1, &all, SFD_CLOEXEC));
  if (!signals) return gantry::LastErrno("signalfd");

  std::optional<RawTerminal> raw;
  if (master) {
    raw.emplace(STDIN_FILENO);
    CopyWindowSize(STDIN_FILENO, master.get());
  }
  bool stdin_open = master.valid();
  for (;;) {
    // Reap before every wait: a SIGCHLD sent before the mask was set was
    // discarded (its default action is to ignore), and one SIGCHLD may stand
    // for several exits.
    int status;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != child) continue;
      // Output still buffered in the pty is the program's last words.
      if (master) {
        ::fcntl(master.get(), F_SETFL, O_NONBLOCK);
        while (Pump(master.get(), STDOUT_FILENO)) {
        }
      }
      return ExitCodeFromWaitStatus(status);
    }
    struct pollfd fds[3] = {{signals.get(), POLLIN, 0},
                            {master ? master.get() : -1, POLLIN, 0},
                            {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0 && errno != EINTR) return gantry::LastErrno("poll");
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      if (!Pump(master.get(), STDOUT_FILENO)) master.Reset(), stdin_open = false;
    }
    if (fds[2].revents & (POLLIN | POLLHUP)) {
      if (!Pump(STDIN_FILENO, master.get())) stdin_open = false;
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo info;
      if (::read(signals.get(), &info, sizeof info) != sizeof info) continue;
      int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD || sig == SIGURG) continue;
      if (sig == SIGWINCH) {
        if (master) CopyWindowSize(STDIN_FILENO, master.get());
        continue;
      }
      ::kill(child, sig);
    }
  }
}

}  // namespace ocirun::cli
