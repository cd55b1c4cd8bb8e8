// contd-shim: started by contd, one per container. It serves proto/shim/v1
// (ttrpc) on --socket, runs the OCI runtime for the container's bundle, and
// as the container's subreaper keeps its stdio, log and exit status while
// contd and engined come and go. Single-threaded: an idle shim sleeps in
// epoll_wait and costs only its memory.
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <CLI/CLI.hpp>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/runtime_cli.h"
#include "shim/event_loop.h"
#include "shim/task_service.h"
#include "shim/ttrpc_server.h"

namespace {

struct Flags {
  std::string ns = "default";
  std::string id;
  std::string bundle;
  std::string socket;
  std::string runtime = "ocirun";
  std::string runtime_root;
  int ready_fd = -1;
};

// Tells contd the outcome of start-up on --ready-fd: "ok" or the error.
void ReportReady(int fd, const absl::Status& status) {
  if (fd < 0) return;
  const std::string message = status.ok() ? "ok" : std::string(status.message());
  (void)::write(fd, message.data(), message.size());
  ::close(fd);
}

absl::Status Serve(const Flags& flags) {
  // The container's processes are reparented to us, not to init, so their
  // exit statuses are ours to collect.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return gantry::LastErrno("PR_SET_CHILD_SUBREAPER");
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGCHLD);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  if (::sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) return gantry::LastErrno("sigprocmask");
  ::signal(SIGPIPE, SIG_IGN);
  gantry::UniqueFd signal_fd(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd) return gantry::LastErrno("signalfd");

  GANTRY_ASSIGN_OR_RETURN(std::unique_ptr<gantry::shim::EventLoop> loop,
                          gantry::shim::EventLoop::Create());
  gantry::shim::TaskService tasks(*loop, {flags.id, flags.bundle, flags.socket},
                                  gantry::OciRuntime(flags.runtime, flags.runtime_root,
                                                     absl::StrCat(flags.bundle, "/runtime.log")));
  GANTRY_ASSIGN_OR_RETURN(
      std::unique_ptr<gantry::shim::TtrpcServer> server,
      gantry::shim::TtrpcServer::Listen(
          *loop, flags.socket,
          [&tasks](const gantry::ttrpc::Request& request, gantry::shim::Responder responder) {
            tasks.Dispatch(request, std::move(responder));
          }));
  GANTRY_RETURN_IF_ERROR(loop->Add(signal_fd.get(), EPOLLIN, [&](uint32_t) {
    signalfd_siginfo info{};
    while (::read(signal_fd.get(), &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo != SIGCHLD) {
        gantry::log::Info("contd-shim: ", strsignal(static_cast<int>(info.ssi_signo)));
        tasks.OnStopSignal();
      }
    }
    // SIGCHLDs coalesce: reap everything that has exited.
    int status = 0;
    pid_t pid = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) tasks.OnChildExited(pid, status);
  }));
  GANTRY_RETURN_IF_ERROR(gantry::WriteFileAtomic(absl::StrCat(flags.bundle, "/shim.pid"),
                                                 std::to_string(::getpid()), 0644,
                                                 gantry::Durability::kVolatile));
  ReportReady(flags.ready_fd, absl::OkStatus());
  absl::Status ran = loop->Run();
  server.reset();
  ::unlink(flags.socket.c_str());
  ::unlink(absl::StrCat(flags.bundle, "/shim.pid").c_str());
  loop->Remove(signal_fd.get());
  return ran;
}

}  // namespace

int main(int argc, char** argv) {
  // One arena and an early trim: the shim is single-threaded and mostly idle,
  // and its memory counts once per container.
  ::mallopt(M_ARENA_MAX, 1);
  ::mallopt(M_TRIM_THRESHOLD, 64 * 1024);
  CLI::App app{"contd-shim: keeps one container's processes, stdio and exit status", "contd-shim"};
  app.set_version_flag("--version", "contd-shim version " GANTRY_VERSION);
  Flags flags;
  app.add_option("--namespace", flags.ns, "contd namespace of the container")
      ->capture_default_str();
  app.add_option("--id", flags.id, "Container id")->required();
  app.add_option("--bundle", flags.bundle, "OCI bundle directory of the container")->required();
  app.add_option("--socket", flags.socket, "Unix socket to serve the shim API on")->required();
  app.add_option("--runtime", flags.runtime, "OCI runtime binary (runc-compatible)")
      ->capture_default_str();
  app.add_option("--runtime-root", flags.runtime_root, "The runtime's --root")->required();
  app.add_option("--ready-fd", flags.ready_fd, "Descriptor to report start-up on, then close");
  CLI11_PARSE(app, argc, argv);

  absl::Status served = Serve(flags);
  if (!served.ok()) {
    gantry::log::Error("contd-shim: ", served.message());
    ReportReady(flags.ready_fd, served);
    return 1;
  }
  return 0;
}
