#include "contd/tasks/shim_launcher.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::contd {
namespace {

constexpr int kReadyFd = 3;

}  // namespace

absl::Status LaunchShim(const ShimLaunch& launch) {
  std::vector<std::string> args = {launch.shim_binary,
                                   "--namespace",
                                   launch.ns,
                                   "--id",
                                   launch.id,
                                   "--bundle",
                                   launch.bundle,
                                   "--socket",
                                   launch.socket_path,
                                   "--runtime",
                                   launch.runtime_binary,
                                   "--runtime-root",
                                   launch.runtime_root,
                                   "--ready-fd",
                                   std::to_string(kReadyFd)};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log_path = absl::StrCat(launch.bundle, "/shim.log");

  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return LastErrno("pipe");
  UniqueFd ready_read(ready[0]);
  UniqueFd ready_write(ready[1]);
  // Everything the children need is prepared above: after fork in a
  // threaded process only async-signal-safe calls are allowed.
  const pid_t child = ::fork();
  if (child < 0) return LastErrno("fork");
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);  // the shim is reparented away from contd
    const int null = ::open("/dev/null", O_RDWR);
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null < 0 || log < 0 || ::dup2(null, STDIN_FILENO) < 0 || ::dup2(log, STDOUT_FILENO) < 0 ||
        ::dup2(log, STDERR_FILENO) < 0 || ::dup2(ready_write.get(), kReadyFd) < 0) {
      ::_exit(127);
    }
    ::close_range(kReadyFd + 1, ~0U, 0);
    ::execvp(argv[0], argv.data());
    const char message[] = "cannot execute the shim binary";
    (void)::write(kReadyFd, message, sizeof(message) - 1);
    ::_exit(127);
  }
  ready_write.Reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  std::string report;
  char buffer[512];
  ssize_t n = 0;
  while ((n = ::read(ready_read.get(), buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrno("read the shim's start-up report");
    report.append(buffer, static_cast<size_t>(n));
  }
  if (report == "ok") return absl::OkStatus();
  if (report.empty()) report = absl::StrCat("exited during start-up; see ", log_path);
  return absl::InternalError(absl::StrCat("shim for ", launch.id, ": ", report));
}

absl::Status CallShim(const std::string& socket_path, absl::string_view method,
                      const google::protobuf::MessageLite& request,
                      google::protobuf::MessageLite* response, absl::Duration timeout) {
  GANTRY_ASSIGN_OR_RETURN(ttrpc::Client client, ttrpc::Client::Connect(socket_path));
  return client.Call("gantry.shim.v1.Task", method, request, response, timeout);
}

}  // namespace gantry::contd
