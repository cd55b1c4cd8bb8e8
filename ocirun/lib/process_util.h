// Helpers around processes: argv/envp for execve, wait statuses, signals.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/signal_name.h"

namespace ocirun {

// Owns the NUL-terminated arrays execve wants, built before fork so the child
// does not allocate.
class ExecArgs {
 public:
  ExecArgs(const std::vector<std::string>& args, const std::vector<std::string>& env);
  char* const* argv() { return argv_.data(); }
  char* const* envp() { return envp_.data(); }

 private:
  std::vector<std::string> args_, env_;
  std::vector<char*> argv_, envp_;
};

// "exited with status 3" / "killed by signal 9".
std::string DescribeWaitStatus(int status);
// The shell convention runc uses: the exit code, or 128+N when killed by N.
int ExitCodeFromWaitStatus(int status);

using gantry::ParseSignal;

// Finds `file` in the PATH of `env` (as the container's execve would),
// looking relative to the current root. Names with '/' are used as given.
absl::StatusOr<std::string> LookPath(const std::string& file, const std::vector<std::string>& env);

// chdir to process.cwd, refusing a directory outside the container's root:
// a cwd of /proc/self/fd/N through a leaked host descriptor would otherwise
// hand the program the host filesystem (CVE-2024-21626).
absl::Status ChdirInContainer(const std::string& cwd);

// What a container process execs: the program found in its PATH and its
// environment, with HOME from the container's /etc/passwd when the config
// does not set it (runc does the same). Resolved inside the container.
struct ExecTarget {
  std::string path;
  std::vector<std::string> env;
};
absl::StatusOr<ExecTarget> ResolveExec(const std::vector<std::string>& args,
                                       const std::vector<std::string>& env, uint32_t uid);

}  // namespace ocirun
