#include "ocirun/lib/init.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "ocirun/lib/credentials.h"
#include "ocirun/lib/hooks.h"
#include "ocirun/lib/process_util.h"
#include "ocirun/lib/rootfs.h"
#include "ocirun/lib/sync.h"
#include "ocirun/lib/terminal.h"

namespace ocirun {
namespace {

absl::Status JoinNamespaces(const Spec& spec, bool user_first) {
  for (const auto& ns : spec.linux.namespaces) {
    // pid namespaces are joined by the runtime before clone; the user
    // namespace is joined first, every other one after it.
    if (ns.path.empty() || ns.clone_flag == CLONE_NEWPID) continue;
    if ((ns.clone_flag == CLONE_NEWUSER) != user_first) continue;
    gantry::UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return gantry::LastErrno(absl::StrCat("open ", ns.type, " namespace ", ns.path));
    if (::setns(fd.get(), ns.clone_flag) != 0)
      return gantry::LastErrno(absl::StrCat("join ", ns.type, " namespace ", ns.path));
  }
  return absl::OkStatus();
}

absl::Status InitSteps(const InitConfig& c, const SyncSocket& sync, ExecTarget& target) {
  const Spec& spec = *c.spec;
  const Process& process = *spec.process;
  GANTRY_RETURN_IF_ERROR(sync.Expect(SyncMessage::kGo));
  // Until execve (which resets it) nothing in the container may ptrace us or
  // open /proc/<init>/exe, our host binary (CVE-2019-5736 class). Not before
  // kGo: a non-dumpable process's /proc files turn root-owned, and a rootless
  // runtime must still write our id maps.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return gantry::LastErrno("PR_SET_DUMPABLE");
  GANTRY_RETURN_IF_ERROR(JoinNamespaces(spec, /*user_first=*/true));
  bool new_userns = spec.linux.FindNamespace(CLONE_NEWUSER) != nullptr;
  if (new_userns) {
    // The runtime wrote our id maps: become root of the new user namespace.
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)
      return gantry::LastErrno("become root in the user namespace");
  }
  GANTRY_RETURN_IF_ERROR(JoinNamespaces(spec, /*user_first=*/false));
  // Moving a task between cgroups is slow (the kernel waits for an RCU grace
  // period), so the runtime does it while we set up the rootfs; we wait for
  // it as late as possible: before a new cgroup namespace, which must show the
  // container's cgroup as "/" (as with runc), or else before the hooks.
  const Namespace* cgns = spec.linux.FindNamespace(CLONE_NEWCGROUP);
  bool new_cgroupns = cgns && cgns->path.empty();
  if (new_cgroupns) {
    GANTRY_RETURN_IF_ERROR(sync.Expect(SyncMessage::kCgroupJoined));
    if (::unshare(CLONE_NEWCGROUP) != 0) return gantry::LastErrno("unshare cgroup namespace");
  }
  if (::setsid() < 0) return gantry::LastErrno("setsid");

  if (spec.linux.FindNamespace(CLONE_NEWUTS)) {
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
      return gantry::LastErrno("hostname: sethostname");
    if (!spec.domainname.empty() &&
        ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0)
      return gantry::LastErrno("domainname: setdomainname");
  }

  bool own_mount_ns = spec.linux.FindNamespace(CLONE_NEWNS) != nullptr;
  RootfsOptions rootfs{c.rootfs, c.no_pivot, c.cgroup_paths, new_userns};
  if (own_mount_ns) GANTRY_RETURN_IF_ERROR(PrepareRootfs(spec, rootfs));

  if (!new_cgroupns) GANTRY_RETURN_IF_ERROR(sync.Expect(SyncMessage::kCgroupJoined));
  GANTRY_RETURN_IF_ERROR(sync.Send(SyncMessage::kRunCreateHooks));
  GANTRY_RETURN_IF_ERROR(sync.Expect(SyncMessage::kHooksDone));
  if (!spec.hooks.create_container.empty()) {
    nlohmann::json state = {
        {"ociVersion", spec.oci_version}, {"status", "creating"}, {"pid", ::getpid()}};
    GANTRY_RETURN_IF_ERROR(RunHooks(spec.hooks.create_container, "createContainer", state.dump()));
  }

  if (own_mount_ns) {
    GANTRY_RETURN_IF_ERROR(EnterRootfs(rootfs));
    GANTRY_RETURN_IF_ERROR(FinishRootfs(spec));
  } else if (::chroot(c.rootfs.c_str()) != 0 || ::chdir("/") != 0) {
    return gantry::LastErrno("chroot rootfs");
  }

  if (c.console_socket_fd >= 0)
    GANTRY_RETURN_IF_ERROR(SetupConsole(c.console_socket_fd, process.console_size));

  if (!c.no_new_keyring) {
    // A fresh session keyring so containers never share the host's keys.
    // EPERM/ENOSYS mean keyrings are unavailable (nested containers): ignore.
    (void)::syscall(SYS_keyctl, 1 /*KEYCTL_JOIN_SESSION_KEYRING*/, nullptr);
  }
  GANTRY_RETURN_IF_ERROR(SetRlimits(process));
  if (spec.linux.personality_domain) {
    unsigned long persona = *spec.linux.personality_domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
    if (::personality(persona) < 0) return gantry::LastErrno("linux.personality");
  }
  GANTRY_RETURN_IF_ERROR(ChdirInContainer(process.cwd));
  GANTRY_ASSIGN_OR_RETURN(target, ResolveExec(process.args, process.env, process.user.uid));
  // Privileges go before `create` returns, as with runc: a created container
  // already runs as its user, with its capabilities and seccomp filter.
  GANTRY_RETURN_IF_ERROR(CloseInheritedFds(c.preserve_fds));
  GANTRY_RETURN_IF_ERROR(FinalizeProcess(process, c.seccomp, sync));
  return absl::OkStatus();
}

// After `start`: startContainer hooks, then exec.
absl::Status FinalSteps(const InitConfig& c) {
  const Spec& spec = *c.spec;
  if (!spec.hooks.start_container.empty()) {
    nlohmann::json state = {
        {"ociVersion", spec.oci_version}, {"status", "created"}, {"pid", ::getpid()}};
    GANTRY_RETURN_IF_ERROR(RunHooks(spec.hooks.start_container, "startContainer", state.dump()));
  }
  return CloseInheritedFds(c.preserve_fds, /*seccomp_installed=*/c.seccomp != nullptr);
}

[[noreturn]] void Fail(const SyncSocket* sync, const absl::Status& status) {
  if (sync) (void)sync->Send(SyncMessage::kError, std::string(status.message()));
  _exit(1);
}

}  // namespace

void RunContainerInit(const InitConfig& c) {
  SyncSocket sync(c.sync_fd);
  ExecTarget target;
  if (auto st = InitSteps(c, sync, target); !st.ok()) Fail(&sync, st);

  // Everything that can fail visibly has been done: `create` may return.
  if (auto st = sync.Send(SyncMessage::kReady); !st.ok()) _exit(1);
  ::close(c.sync_fd);

  // Blocks until `start` opens the fifo for reading (runc's exec fifo).
  int fifo = ::open(absl::StrCat("/proc/self/fd/", c.exec_fifo_fd).c_str(), O_WRONLY | O_CLOEXEC);
  if (fifo < 0 || ::write(fifo, "0", 1) != 1) _exit(1);
  ::close(fifo);
  ::close(c.exec_fifo_fd);

  if (auto st = FinalSteps(c); !st.ok()) {
    std::string line = absl::StrCat("ocirun: ", st.message(), "\n");
    (void)!::write(STDERR_FILENO, line.data(), line.size());
    _exit(1);
  }
  ExecArgs exec(c.spec->process->args, target.env);
  ::execve(target.path.c_str(), exec.argv(), exec.envp());
  std::string line = absl::StrCat("ocirun: exec ", target.path, ": ", strerror(errno), "\n");
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  _exit(127);
}

}  // namespace ocirun
