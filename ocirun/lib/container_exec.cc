#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"
#include "ocirun/lib/capabilities.h"
#include "ocirun/lib/cgroups/layout.h"
#include "ocirun/lib/cgroups/manager.h"
#include "ocirun/lib/container.h"
#include "ocirun/lib/credentials.h"
#include "ocirun/lib/process_util.h"
#include "ocirun/lib/sync.h"
#include "ocirun/lib/terminal.h"

namespace ocirun {
namespace {

using gantry::UniqueFd;

struct NamespaceFile {
  const char* name;  // under /proc/PID/ns
  int flag;
};
// The user namespace first (it grants the rights to join the others).
constexpr NamespaceFile kJoinOrder[] = {
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS},
};

bool SameNamespace(pid_t pid, const char* name) {
  struct stat a, b;
  if (::stat(absl::StrCat("/proc/", pid, "/ns/", name).c_str(), &a) != 0) return true;
  if (::stat(absl::StrCat("/proc/self/ns/", name).c_str(), &b) != 0) return true;
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

// Opens the container's namespaces that differ from ours, before forking.
absl::StatusOr<std::vector<std::pair<UniqueFd, int>>> OpenNamespaces(pid_t pid) {
  std::vector<std::pair<UniqueFd, int>> out;
  for (const auto& ns : kJoinOrder) {
    if (SameNamespace(pid, ns.name)) continue;
    UniqueFd fd(::open(absl::StrCat("/proc/", pid, "/ns/", ns.name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return gantry::LastErrno(absl::StrCat("open ", ns.name, " namespace of ", pid));
    out.emplace_back(std::move(fd), ns.flag);
  }
  return out;
}

absl::Status ExecChildSteps(const Process& p, const ExecOptions& o, int console_fd,
                            const SeccompFilter* seccomp,
                            const std::vector<std::pair<UniqueFd, int>>& namespaces,
                            const SyncSocket& sync, ExecTarget& target) {
  GANTRY_RETURN_IF_ERROR(sync.Expect(SyncMessage::kGo));
  for (const auto& [fd, flag] : namespaces) {
    if (::setns(fd.get(), flag) != 0) return gantry::LastErrno("join container namespace");
  }
  if (::setsid() < 0) return gantry::LastErrno("setsid");
  if (console_fd >= 0) GANTRY_RETURN_IF_ERROR(SetupConsole(console_fd, p.console_size));
  GANTRY_RETURN_IF_ERROR(ChdirInContainer(p.cwd));
  GANTRY_RETURN_IF_ERROR(SetRlimits(p));
  GANTRY_ASSIGN_OR_RETURN(target, ResolveExec(p.args, p.env, p.user.uid));
  GANTRY_RETURN_IF_ERROR(CloseInheritedFds(o.preserve_fds));
  GANTRY_RETURN_IF_ERROR(FinalizeProcess(p, seccomp, sync));
  return CloseInheritedFds(o.preserve_fds, /*seccomp_installed=*/seccomp != nullptr);
}

}  // namespace

absl::StatusOr<Process> ExecProcess(const GlobalOptions& global, const ExecOptions& o) {
  StateStore store(global.root);
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json config, gantry::ReadJsonFile(store.ConfigCopy(o.id)));
  if (!o.process_file.empty()) {
    GANTRY_ASSIGN_OR_RETURN(nlohmann::json doc, gantry::ReadJsonFile(o.process_file));
    return ParseProcess(doc, o.process_file);
  }
  // As runc: the container's own process settings, with the command line's changes.
  GANTRY_ASSIGN_OR_RETURN(Process p, ParseProcess(config["process"], "config.json: process"));
  if (o.args.empty()) return absl::InvalidArgumentError("exec: no command given");
  p.args = o.args;
  p.terminal = o.tty;
  p.console_size.reset();
  if (!o.cwd.empty()) p.cwd = o.cwd;
  for (const auto& e : o.env) p.env.push_back(e);
  if (!o.user.empty()) {
    unsigned uid = 0, gid = 0;
    auto colon = o.user.find(':');
    if (!absl::SimpleAtoi(o.user.substr(0, colon), &uid) ||
        (colon != std::string::npos && !absl::SimpleAtoi(o.user.substr(colon + 1), &gid)))
      return absl::InvalidArgumentError(
          absl::StrCat("--user: \"", o.user, "\" is not uid[:gid] in numbers"));
    p.user.uid = uid;
    p.user.gid = colon == std::string::npos ? p.user.gid : gid;
  }
  for (const auto& cap : o.caps) {
    if (!IsKnownCapability(cap))
      return absl::InvalidArgumentError(absl::StrCat("--cap: unknown capability \"", cap, "\""));
    if (!p.capabilities) p.capabilities = Capabilities{};
    for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective,
                      &p.capabilities->permitted, &p.capabilities->ambient})
      set->push_back(cap);
  }
  if (o.no_new_privs) p.no_new_privileges = true;
  return p;
}

absl::StatusOr<pid_t> ExecInContainer(const GlobalOptions& global, const ExecOptions& o,
                                      const Process& p) {
  StateStore store(global.root);
  GANTRY_ASSIGN_OR_RETURN(ContainerState state, store.Load(o.id));
  Status status = CurrentStatus(store, state);
  if (status == Status::kStopped)
    return absl::FailedPreconditionError("cannot exec in a stopped container");
  if (status == Status::kPaused)
    return absl::FailedPreconditionError("cannot exec in a paused container");
  if (p.terminal && o.console_socket.empty() && o.console_socket_fd < 0)
    return absl::InvalidArgumentError("--tty requires --console-socket");

  // Nothing in the container may ptrace us or open our memory or
  // /proc/PID/exe while we hold host descriptors (CVE-2019-5736 class).
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return gantry::LastErrno("PR_SET_DUMPABLE");

  GANTRY_ASSIGN_OR_RETURN(auto namespaces, OpenNamespaces(state.pid));
  // The container's seccomp filter applies to every process in it.
  std::optional<SeccompFilter> seccomp;
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json config, gantry::ReadJsonFile(store.ConfigCopy(o.id)));
  if (config.contains("linux") && config["linux"].contains("seccomp") &&
      !config["linux"]["seccomp"].is_null()) {
    GANTRY_ASSIGN_OR_RETURN(SeccompFilter filter,
                            SeccompFilter::Compile(config["linux"]["seccomp"]));
    seccomp.emplace(std::move(filter));
  }
  UniqueFd console;
  if (!o.console_socket.empty()) {
    GANTRY_ASSIGN_OR_RETURN(console, gantry::ConnectUnixSocket(o.console_socket));
  }
  if (!SameNamespace(state.pid, "pid")) {
    // Only children enter a joined pid namespace: join it, then fork.
    UniqueFd pidns(
        ::open(absl::StrCat("/proc/", state.pid, "/ns/pid").c_str(), O_RDONLY | O_CLOEXEC));
    if (!pidns || ::setns(pidns.get(), CLONE_NEWPID) != 0)
      return gantry::LastErrno("join the container's pid namespace");
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return gantry::LastErrno("socketpair");
  UniqueFd parent_end(sv[0]), child_end(sv[1]);

  pid_t pid = ::fork();
  if (pid < 0) return gantry::LastErrno("fork");
  if (pid == 0) {
    parent_end.Release();
    SyncSocket sync(child_end.get());
    ExecTarget target;
    int console_fd = !p.terminal ? -1 : console ? console.get() : o.console_socket_fd;
    auto st =
        ExecChildSteps(p, o, console_fd, seccomp ? &*seccomp : nullptr, namespaces, sync, target);
    if (!st.ok()) {
      (void)sync.Send(SyncMessage::kError, std::string(st.message()));
      _exit(1);
    }
    (void)sync.Send(SyncMessage::kReady);
    ExecArgs exec(p.args, target.env);
    ::execve(target.path.c_str(), exec.argv(), exec.envp());
    _exit(127);
  }
  child_end.Reset();
  SyncSocket sync(parent_end.get());
  auto fail = [&](absl::Status st) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return st;
  };
  GANTRY_ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::Layout::Discover());
  if (auto st = cgroups::Manager::FromPaths(state.cgroup_paths, layout).AddProcess(pid); !st.ok())
    return fail(st);
  if (auto st = sync.Send(SyncMessage::kGo); !st.ok()) return fail(st);
  if (seccomp && seccomp->has_notify()) {
    auto notify = sync.ExpectFd(SyncMessage::kSeccompFd);
    if (!notify.ok()) return fail(notify.status());
    auto st = seccomp->SendToListener(notify->get(), pid, StateJson(state, status));
    if (!st.ok()) return fail(st);
  }
  if (auto st = sync.Expect(SyncMessage::kReady); !st.ok()) return fail(st);
  if (!o.pid_file.empty()) {
    if (auto st = gantry::WriteFileAtomic(o.pid_file, std::to_string(pid)); !st.ok())
      return fail(gantry::Annotate(st, "--pid-file"));
  }
  return pid;
}

}  // namespace ocirun
