#include "common/runtime_cli.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/unique_fd.h"
#include "nlohmann/json.hpp"

extern char** environ;

namespace gantry {
namespace {

off_t FileSize(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? info.st_size : 0;
}

// The last "error" message the runtime logged after `offset`, if any.
std::string LastLoggedError(const std::string& log_path, off_t offset) {
  absl::StatusOr<std::string> log = ReadFile(log_path);
  if (!log.ok() || static_cast<size_t>(offset) > log->size()) return "";
  std::string message;
  for (absl::string_view line : absl::StrSplit(absl::string_view(*log).substr(offset), '\n')) {
    nlohmann::json record = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    if (record.is_object() && record.value("level", "") == "error") {
      message = record.value("msg", "");
    }
  }
  return message;
}

}  // namespace

absl::StatusOr<pid_t> OciRuntime::Spawn(const std::vector<std::string>& args,
                                        const RuntimeStdio& stdio) const {
  std::vector<std::string> argv = {binary_,   "--root",       root_, "--log",
                                   log_path_, "--log-format", "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const int targets[] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
  const int sources[] = {stdio.in, stdio.out, stdio.err};
  for (int i = 0; i < 3; ++i) {
    if (sources[i] >= 0) {
      posix_spawn_file_actions_adddup2(&actions, sources[i], targets[i]);
    } else {
      posix_spawn_file_actions_addopen(&actions, targets[i], "/dev/null", O_RDWR, 0);
    }
  }
  // The shim blocks SIGCHLD for its signalfd; the runtime needs defaults.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int err = ::posix_spawnp(&pid, binary_.c_str(), &actions, &attributes, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (err != 0) return ErrnoError(err, absl::StrCat("run ", binary_));
  return pid;
}

absl::Status OciRuntime::Wait(pid_t pid, const std::vector<std::string>& args,
                              off_t log_offset) const {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return LastErrno(absl::StrCat("wait for ", binary_));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  const std::string command = absl::StrCat(binary_, " ", args.empty() ? "" : args.front());
  std::string why = LastLoggedError(log_path_, log_offset);
  if (why.empty()) {
    why = WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status))
                            : absl::StrCat("killed by signal ", WTERMSIG(status));
  }
  return absl::FailedPreconditionError(absl::StrCat(command, ": ", why));
}

absl::Status OciRuntime::Run(const std::vector<std::string>& args,
                             const RuntimeStdio& stdio) const {
  const off_t log_offset = FileSize(log_path_);
  GANTRY_ASSIGN_OR_RETURN(pid_t pid, Spawn(args, stdio));
  return Wait(pid, args, log_offset);
}

absl::StatusOr<std::string> OciRuntime::Output(const std::vector<std::string>& args) const {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return LastErrno("pipe");
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const off_t log_offset = FileSize(log_path_);
  GANTRY_ASSIGN_OR_RETURN(pid_t pid, Spawn(args, RuntimeStdio{-1, write_end.get(), -1}));
  write_end.Reset();
  std::string output;
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(read_end.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  GANTRY_RETURN_IF_ERROR(Wait(pid, args, log_offset));
  return output;
}

}  // namespace gantry
