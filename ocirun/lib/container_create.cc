#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/time_util.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"
#include "ocirun/lib/cgroups/controllers.h"
#include "ocirun/lib/cgroups/layout.h"
#include "ocirun/lib/cgroups/manager.h"
#include "ocirun/lib/container.h"
#include "ocirun/lib/hooks.h"
#include "ocirun/lib/init.h"
#include "ocirun/lib/seccomp.h"
#include "ocirun/lib/sync.h"

namespace ocirun {
namespace {

using gantry::UniqueFd;

// Everything a failed create must undo, released in reverse order unless
// Commit() is called: the init process, its cgroup, the state directory.
class CreateTransaction {
 public:
  explicit CreateTransaction(std::string state_dir) : state_dir_(std::move(state_dir)) {}
  ~CreateTransaction() {
    if (committed_) return;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (cgroup_) (void)cgroup_->Destroy();
    (void)gantry::RemoveTree(state_dir_);
  }
  void SetPid(pid_t pid) { pid_ = pid; }
  // A copy: the caller's manager is destroyed before this transaction.
  void SetCgroup(const cgroups::Manager& cgroup) { cgroup_ = cgroup; }
  void Commit() { committed_ = true; }

 private:
  std::string state_dir_;
  pid_t pid_ = -1;
  std::optional<cgroups::Manager> cgroup_;
  bool committed_ = false;
};

std::string IdMap(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps)
    absl::StrAppend(&out, m.container_id, " ", m.host_id, " ", m.size, "\n");
  return out;
}

absl::Status WriteIdMaps(pid_t pid, const Linux& lx, bool rootless) {
  std::string proc = absl::StrCat("/proc/", pid);
  // An unprivileged writer may map its own ids only after giving up
  // setgroups(2) in the namespace (user_namespaces(7)).
  if (rootless && !lx.gid_mappings.empty())
    GANTRY_RETURN_IF_ERROR(gantry::WriteExistingFile(proc + "/setgroups", "deny"));
  if (!lx.gid_mappings.empty()) {
    GANTRY_RETURN_IF_ERROR(gantry::Annotate(
        gantry::WriteExistingFile(proc + "/gid_map", IdMap(lx.gid_mappings)), "linux.gidMappings"));
  }
  if (!lx.uid_mappings.empty()) {
    GANTRY_RETURN_IF_ERROR(gantry::Annotate(
        gantry::WriteExistingFile(proc + "/uid_map", IdMap(lx.uid_mappings)), "linux.uidMappings"));
  }
  return absl::OkStatus();
}

pid_t CloneInit(int flags) {
  // A raw clone with a NULL stack behaves like fork but enters the new
  // namespaces at once, so the child is pid 1 of its pid namespace without
  // a second fork (crun's approach; runc re-executes itself instead).
  return static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
}

}  // namespace

absl::StatusOr<CreatedContainer> CreateContainer(const GlobalOptions& global,
                                                 const CreateOptions& options) {
  GANTRY_RETURN_IF_ERROR(ValidateId(options.id));
  if (global.systemd_cgroup)
    return absl::UnimplementedError(
        "--systemd-cgroup: the systemd cgroup driver is not supported; use the cgroupfs driver");
  char bundle_buf[PATH_MAX];
  if (!::realpath(options.bundle.c_str(), bundle_buf))
    return gantry::LastErrno(absl::StrCat("--bundle ", options.bundle));
  std::string bundle = bundle_buf;
  std::string config_text;
  GANTRY_ASSIGN_OR_RETURN(Spec spec, LoadSpec(bundle, &config_text));
  if (!spec.process) return absl::InvalidArgumentError("config.json: process: required for create");
  bool terminal = spec.process->terminal;
  if (terminal && options.console_socket.empty() && options.console_socket_fd < 0)
    return absl::InvalidArgumentError(
        "config.json: process.terminal is true but no --console-socket was given");
  if (!spec.process->terminal && !options.console_socket.empty())
    return absl::InvalidArgumentError(
        "--console-socket given but config.json's process.terminal is false");
  if (spec.linux.has_intel_rdt)
    return absl::UnimplementedError("config.json: linux.intelRdt: not supported on this host");
  if (!spec.process->apparmor_profile.empty() && ::access("/sys/kernel/security/apparmor", F_OK))
    return absl::FailedPreconditionError(
        "config.json: process.apparmorProfile: AppArmor is not enabled on this host");
  if (!spec.process->selinux_label.empty() && ::access("/sys/fs/selinux/enforce", F_OK))
    return absl::FailedPreconditionError(
        "config.json: process.selinuxLabel: SELinux is not enabled on this host");
  std::optional<SeccompFilter> seccomp;
  if (!spec.linux.seccomp.is_null()) {
    auto filter = SeccompFilter::Compile(spec.linux.seccomp);
    if (!filter.ok()) return gantry::Annotate(filter.status(), "config.json");
    seccomp.emplace(std::move(*filter));
  }

  std::string rootfs = spec.root.path[0] == '/' ? spec.root.path : bundle + "/" + spec.root.path;
  char rootfs_buf[PATH_MAX];
  if (!::realpath(rootfs.c_str(), rootfs_buf))
    return gantry::LastErrno(absl::StrCat("config.json: root.path: ", rootfs));
  rootfs = rootfs_buf;

  StateStore store(global.root);
  GANTRY_RETURN_IF_ERROR(gantry::MakeDirs(global.root, 0711));
  std::string dir = store.Dir(options.id);
  if (::mkdir(dir.c_str(), 0711) != 0) {
    if (errno == EEXIST)
      return absl::AlreadyExistsError(
          absl::StrCat("container with id \"", options.id, "\" already exists"));
    return gantry::LastErrno(absl::StrCat("mkdir ", dir));
  }
  CreateTransaction tx(dir);
  GANTRY_RETURN_IF_ERROR(gantry::WriteFileAtomic(store.ConfigCopy(options.id), config_text, 0600,
                                                 gantry::Durability::kVolatile));

  std::string fifo_path = store.ExecFifo(options.id);
  // 0622 regardless of the umask: the init may already run as an unprivileged
  // user when it opens the fifo to wait for `start`.
  if (::mkfifo(fifo_path.c_str(), 0622) != 0 || ::chmod(fifo_path.c_str(), 0622) != 0)
    return gantry::LastErrno("mkfifo exec.fifo");
  UniqueFd fifo(::open(fifo_path.c_str(), O_PATH | O_CLOEXEC));
  if (!fifo) return gantry::LastErrno("open exec.fifo");

  UniqueFd console;
  if (!options.console_socket.empty()) {
    GANTRY_ASSIGN_OR_RETURN(console, gantry::ConnectUnixSocket(options.console_socket));
  }

  GANTRY_ASSIGN_OR_RETURN(cgroups::Layout layout, cgroups::Layout::Discover());
  cgroups::Manager cgroup =
      cgroups::Manager::ForContainer(layout, spec.linux.cgroups_path, options.id);
  Resources resources = spec.linux.resources.value_or(Resources{});
  if (absl::Status made = cgroup.Create(); !made.ok()) {
    (void)cgroup.Destroy();
    // Rootless without a delegated cgroup: run without one, as runc does,
    // unless the config asks for limits that need it.
    if (!global.rootless || made.code() != absl::StatusCode::kPermissionDenied) return made;
    if (cgroups::HasLimits(resources))
      return absl::FailedPreconditionError(absl::StrCat(
          "config.json: linux.resources: rootless containers need a delegated cgroup (",
          made.message(), ")"));
    cgroup = cgroups::Manager();
  } else {
    resources.devices = cgroups::EffectiveDeviceRules(resources.devices, spec.linux.devices);
  }
  tx.SetCgroup(cgroup);
  GANTRY_RETURN_IF_ERROR(cgroup.SetResources(resources));

  int clone_flags = 0;
  for (const auto& ns : spec.linux.namespaces) {
    // A new cgroup namespace is rooted where its creator is: the init
    // unshares it once it is in the container's cgroup (see init.cc).
    if (ns.path.empty() && ns.clone_flag != CLONE_NEWTIME && ns.clone_flag != CLONE_NEWCGROUP)
      clone_flags |= ns.clone_flag;
  }
  if (const Namespace* pidns = spec.linux.FindNamespace(CLONE_NEWPID);
      pidns && !pidns->path.empty()) {
    // setns to a pid namespace only affects children: join it before clone.
    UniqueFd fd(::open(pidns->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd || ::setns(fd.get(), CLONE_NEWPID) != 0)
      return gantry::LastErrno(absl::StrCat("join pid namespace ", pidns->path));
  }
  // clone() cannot make a time namespace; unshare makes one for our children
  // (a joined one is entered by the init, see init.cc).
  if (const Namespace* timens = spec.linux.FindNamespace(CLONE_NEWTIME);
      timens && timens->path.empty() && ::unshare(CLONE_NEWTIME) != 0)
    return gantry::LastErrno("unshare time namespace");

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return gantry::LastErrno("socketpair");
  UniqueFd parent_end(sv[0]), child_end(sv[1]);

  InitConfig init;
  init.spec = &spec;
  init.rootfs = rootfs;
  init.sync_fd = child_end.get();
  init.exec_fifo_fd = fifo.get();
  init.console_socket_fd = !terminal ? -1 : console ? console.get() : options.console_socket_fd;
  init.no_pivot = options.no_pivot;
  init.no_new_keyring = options.no_new_keyring;
  init.preserve_fds = options.preserve_fds;
  init.cgroup_paths = cgroup.paths();
  init.seccomp = seccomp ? &*seccomp : nullptr;

  pid_t pid = CloneInit(clone_flags);
  if (pid < 0) return gantry::LastErrno("clone container init");
  if (pid == 0) {
    parent_end.Release();  // the child must not close what the parent owns
    RunContainerInit(init);
  }
  tx.SetPid(pid);
  child_end.Reset();
  SyncSocket sync(parent_end.get());

  if (clone_flags & CLONE_NEWUSER)
    GANTRY_RETURN_IF_ERROR(WriteIdMaps(pid, spec.linux, global.rootless));
  if (spec.process->oom_score_adj) {
    GANTRY_RETURN_IF_ERROR(
        gantry::Annotate(gantry::WriteExistingFile(absl::StrCat("/proc/", pid, "/oom_score_adj"),
                                                   std::to_string(*spec.process->oom_score_adj)),
                         "process.oomScoreAdj"));
  }
  GANTRY_RETURN_IF_ERROR(sync.Send(SyncMessage::kGo));
  // While the init prepares its rootfs (see init.cc). Should it fail and exit
  // meanwhile, its own error (queued on the socket) is the one to report.
  auto init_failure = [&](const absl::Status& ours) -> absl::Status {
    if (ProcessStartTime(pid)) return ours;  // still alive: it is waiting for us
    absl::Status theirs = sync.Expect(SyncMessage::kRunCreateHooks);
    return theirs.ok() ? ours : theirs;
  };
  if (auto st = cgroup.AddProcess(pid); !st.ok()) return init_failure(st);
  if (auto st = sync.Send(SyncMessage::kCgroupJoined); !st.ok()) return init_failure(st);
  GANTRY_RETURN_IF_ERROR(sync.Expect(SyncMessage::kRunCreateHooks));

  ContainerState state;
  state.id = options.id;
  state.pid = pid;
  auto start_time = ProcessStartTime(pid);
  if (!start_time) return absl::AbortedError("container init exited during setup");
  state.pid_start_time = *start_time;
  state.bundle = bundle;
  state.rootfs = rootfs;
  state.created = gantry::NowRfc3339Nano();
  state.annotations = spec.annotations;
  state.cgroup_paths = cgroup.paths();
  state.own_pid_namespace = spec.linux.FindNamespace(CLONE_NEWPID) != nullptr;
  std::string hook_state = StateJson(state, Status::kCreating).dump();
  GANTRY_RETURN_IF_ERROR(RunHooks(spec.hooks.prestart, "prestart", hook_state));
  GANTRY_RETURN_IF_ERROR(RunHooks(spec.hooks.create_runtime, "createRuntime", hook_state));
  GANTRY_RETURN_IF_ERROR(sync.Send(SyncMessage::kHooksDone));
  if (seccomp && seccomp->has_notify()) {
    GANTRY_ASSIGN_OR_RETURN(UniqueFd notify, sync.ExpectFd(SyncMessage::kSeccompFd));
    GANTRY_RETURN_IF_ERROR(
        seccomp->SendToListener(notify.get(), pid, StateJson(state, Status::kCreating)));
  }
  GANTRY_RETURN_IF_ERROR(sync.Expect(SyncMessage::kReady));

  GANTRY_RETURN_IF_ERROR(store.Save(state));
  if (!options.pid_file.empty()) {
    GANTRY_RETURN_IF_ERROR(gantry::Annotate(
        gantry::WriteFileAtomic(options.pid_file, std::to_string(pid)), "--pid-file"));
  }
  tx.Commit();
  return CreatedContainer{pid, terminal};
}

}  // namespace ocirun
