#include "ocirun/lib/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "ocirun/lib/process_util.h"

namespace ocirun {
namespace {

absl::Status RunHook(const Hook& hook, const std::string& kind, size_t index,
                     const std::string& state_json) {
  std::string what = absl::StrCat(kind, " hook #", index, " (", hook.path, ")");
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return gantry::LastErrno(what);
  gantry::UniqueFd read_end(pipefd[0]), write_end(pipefd[1]);

  std::vector<std::string> args =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  ExecArgs exec(args, hook.env);
  pid_t pid = ::fork();
  if (pid < 0) return gantry::LastErrno(absl::StrCat(what, ": fork"));
  if (pid == 0) {
    // `run` blocks every signal to relay it: a hook starts with none blocked.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(read_end.get(), STDIN_FILENO);
    ::execve(hook.path.c_str(), exec.argv(), exec.envp());
    _exit(127);
  }
  read_end.Reset();
  // A hook that does not read its stdin must not block us: ignore EPIPE.
  signal(SIGPIPE, SIG_IGN);
  (void)!::write(write_end.get(), state_json.data(), state_json.size());
  write_end.Reset();

  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(hook.timeout.value_or(0));
  for (;;) {
    pid_t r = ::waitpid(pid, &status, hook.timeout ? WNOHANG : 0);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return gantry::LastErrno(absl::StrCat(what, ": wait"));
    if (hook.timeout && std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return absl::DeadlineExceededError(
          absl::StrCat(what, ": timed out after ", *hook.timeout, "s"));
    }
    if (r == 0) ::usleep(2000);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return absl::FailedPreconditionError(absl::StrCat(what, ": could not be executed"));
  return absl::FailedPreconditionError(absl::StrCat(what, ": ", DescribeWaitStatus(status)));
}

}  // namespace

absl::Status RunHooks(const std::vector<Hook>& hooks, const std::string& kind,
                      const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i)
    GANTRY_RETURN_IF_ERROR(RunHook(hooks[i], kind, i, state_json));
  return absl::OkStatus();
}

}  // namespace ocirun
