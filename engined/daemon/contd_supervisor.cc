#include "engined/daemon/contd_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/unique_fd.h"

namespace gantry::engined {
namespace {

bool Alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

absl::Status WaitForSocket(const std::string& path, pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (SocketAnswers(path)) return absl::OkStatus();
    if (!Alive(pid)) return absl::UnavailableError("contd exited during start-up");
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("contd did not answer at ", path, " within ", absl::FormatDuration(timeout)));
}

}  // namespace

bool SocketAnswers(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (!fd || path.size() >= sizeof(address.sun_path)) return false;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
}

ContdSupervisor::~ContdSupervisor() { Stop(absl::Seconds(10)); }

absl::Status ContdSupervisor::Start(absl::Duration timeout) {
  if (absl::StatusOr<std::string> text = ReadFile(options_.pid_file); text.ok()) {
    pid_t pid = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) && Alive(pid) &&
        SocketAnswers(options_.address)) {
      log::Info("engined: adopting the running contd (pid ", pid, ")");
      std::lock_guard lock(mu_);
      pid_ = pid;
      watcher_ = std::thread([this] { Watch(); });
      return absl::OkStatus();
    }
  }
  GANTRY_RETURN_IF_ERROR(Spawn());
  pid_t pid;
  {
    std::lock_guard lock(mu_);
    pid = pid_;
    watcher_ = std::thread([this] { Watch(); });
  }
  return WaitForSocket(options_.address, pid, timeout);
}

absl::Status ContdSupervisor::Spawn() {
  std::vector<std::string> args = {options_.binary, "--root",    options_.root,   "--state",
                                   options_.state,  "--address", options_.address};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return LastErrno("fork contd");
  if (pid == 0) {
    // Its own session: not killed with engined's process group, and the
    // stop signals engined blocks are unblocked again.
    ::setsid();
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  std::lock_guard lock(mu_);
  pid_ = pid;
  return WriteFileAtomic(options_.pid_file, absl::StrCat(pid, "\n"));
}

void ContdSupervisor::Watch() {
  for (;;) {
    pid_t pid;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      pid = pid_;
    }
    // Our child is reaped here; an adopted contd is not our child, so it is
    // polled.
    int status = 0;
    const pid_t reaped = ::waitpid(pid, &status, WNOHANG);
    const bool gone = reaped == pid || (reaped < 0 && !Alive(pid));
    if (gone) {
      std::unique_lock lock(mu_);
      if (stopping_) return;
      log::Warning("engined: contd (pid ", pid, ") exited; restarting it");
      lock.unlock();
      if (absl::Status spawned = Spawn(); !spawned.ok()) {
        log::Error("engined: restarting contd: ", spawned.message());
      }
    }
    std::unique_lock lock(mu_);
    stopping_cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; });
  }
}

void ContdSupervisor::Stop(absl::Duration grace) {
  pid_t pid;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    pid = pid_;
  }
  stopping_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  while (Alive(pid) && absl::Now() < deadline) {
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (Alive(pid)) {
    ::kill(pid, SIGKILL);
    int status;
    (void)::waitpid(pid, &status, 0);
  }
  ::unlink(options_.pid_file.c_str());
}

}  // namespace gantry::engined
