#include "ocirun/lib/process_util.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ocirun {

ExecArgs::ExecArgs(const std::vector<std::string>& args, const std::vector<std::string>& env)
    : args_(args), env_(env) {
  for (auto& a : args_) argv_.push_back(a.data());
  argv_.push_back(nullptr);
  for (auto& e : env_) envp_.push_back(e.data());
  envp_.push_back(nullptr);
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("ended with wait status ", status);
}

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

absl::StatusOr<std::string> LookPath(const std::string& file, const std::vector<std::string>& env) {
  auto executable = [](const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
  };
  if (file.find('/') != std::string::npos) {
    if (executable(file)) return file;
    return absl::NotFoundError(
        absl::StrCat("exec: \"", file, "\": stat ", file, ": no such file or directory"));
  }
  std::string path_var = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : env)
    if (absl::StartsWith(e, "PATH=")) path_var = e.substr(5);
  for (absl::string_view dir : absl::StrSplit(path_var, ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", file);
    if (executable(candidate)) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("exec: \"", file, "\": executable file not found in $PATH"));
}

absl::Status ChdirInContainer(const std::string& cwd) {
  if (::chdir(cwd.c_str()) != 0)
    return absl::Status(absl::StatusCode::kInvalidArgument,
                        absl::StrCat("process.cwd: chdir ", cwd, ": ", std::strerror(errno)));
  // The kernel reports a directory not reachable from our root as
  // "(unreachable)/..." (or fails with ENOENT).
  char buf[4096];
  if (!::getcwd(buf, sizeof buf) || buf[0] != '/')
    return absl::InvalidArgumentError(
        absl::StrCat("process.cwd: ", cwd, " is outside the container's root"));
  return absl::OkStatus();
}

namespace {
// The home directory of `uid` in ./etc/passwd of the current root, "/" if none.
std::string HomeOf(uint32_t uid) {
  FILE* f = std::fopen("/etc/passwd", "re");
  if (!f) return "/";
  std::string home = "/";
  char line[1024];
  while (std::fgets(line, sizeof line, f)) {
    std::vector<std::string> fields = absl::StrSplit(absl::StripTrailingAsciiWhitespace(line), ':');
    uint32_t entry_uid;
    if (fields.size() >= 6 && absl::SimpleAtoi(fields[2], &entry_uid) && entry_uid == uid) {
      home = fields[5];
      break;
    }
  }
  std::fclose(f);
  return home;
}
}  // namespace

absl::StatusOr<ExecTarget> ResolveExec(const std::vector<std::string>& args,
                                       const std::vector<std::string>& env, uint32_t uid) {
  ExecTarget target;
  auto path = LookPath(args[0], env);
  if (!path.ok()) return path.status();
  target.path = *path;
  target.env = env;
  bool has_home = false;
  for (const auto& e : env) has_home |= absl::StartsWith(e, "HOME=");
  if (!has_home) target.env.push_back("HOME=" + HomeOf(uid));
  return target;
}

}  // namespace ocirun
