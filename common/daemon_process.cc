#include "common/daemon_process.h"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"

namespace gantry {

sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int WaitForStopSignal(const sigset_t& signals) {
  int signal = 0;
  while (sigwait(&signals, &signal) != 0) {
  }
  return signal;
}

std::string BesideSelf(const std::string& name) {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir.resize(dir.rfind('/') + 1);
    if (::access((dir + name).c_str(), X_OK) == 0) return dir + name;
  }
  return name;
}

absl::Status WritePidFile(const std::string& path) {
  absl::StatusOr<std::string> existing = ReadFile(path);
  if (pid_t pid; existing.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*existing), &pid) &&
                 pid > 0 && pid != ::getpid() && (::kill(pid, 0) == 0 || errno == EPERM)) {
    return absl::AlreadyExistsError(
        absl::StrCat("pid file ", path, ": process ", pid, " is still running"));
  }
  return WriteFileAtomic(path, absl::StrCat(::getpid(), "\n"), 0644, Durability::kVolatile);
}

}  // namespace gantry
