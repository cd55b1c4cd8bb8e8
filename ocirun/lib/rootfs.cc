#include "ocirun/lib/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/path_in_root.h"
#include "common/unique_fd.h"

namespace ocirun {

using gantry::OpenInRoot;
using gantry::UniqueFd;

MountFlags ParseMountOptions(const std::vector<std::string>& options) {
  struct Flag {
    bool clear;
    unsigned long flag;
  };
  static const std::map<std::string, Flag> kFlags = {
      {"ro", {false, MS_RDONLY}},
      {"rw", {true, MS_RDONLY}},
      {"nosuid", {false, MS_NOSUID}},
      {"suid", {true, MS_NOSUID}},
      {"nodev", {false, MS_NODEV}},
      {"dev", {true, MS_NODEV}},
      {"noexec", {false, MS_NOEXEC}},
      {"exec", {true, MS_NOEXEC}},
      {"sync", {false, MS_SYNCHRONOUS}},
      {"async", {true, MS_SYNCHRONOUS}},
      {"dirsync", {false, MS_DIRSYNC}},
      {"remount", {false, MS_REMOUNT}},
      {"mand", {false, MS_MANDLOCK}},
      {"nomand", {true, MS_MANDLOCK}},
      {"atime", {true, MS_NOATIME}},
      {"noatime", {false, MS_NOATIME}},
      {"diratime", {true, MS_NODIRATIME}},
      {"nodiratime", {false, MS_NODIRATIME}},
      {"relatime", {false, MS_RELATIME}},
      {"norelatime", {true, MS_RELATIME}},
      {"strictatime", {false, MS_STRICTATIME}},
      {"nostrictatime", {true, MS_STRICTATIME}},
      {"silent", {false, MS_SILENT}},
      {"loud", {true, MS_SILENT}},
  };
  static const std::map<std::string, unsigned long> kPropagation = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  MountFlags out;
  std::vector<std::string> data;
  for (const auto& opt : options) {
    if (opt == "bind") {
      out.bind = true;
    } else if (opt == "rbind") {
      out.bind = true;
      out.flags |= MS_REC;
    } else if (auto f = kFlags.find(opt); f != kFlags.end()) {
      if (f->second.clear) {
        out.flags &= ~f->second.flag;
        out.clear |= f->second.flag;
      } else {
        out.flags |= f->second.flag;
      }
    } else if (auto p = kPropagation.find(opt); p != kPropagation.end()) {
      out.propagation = p->second;
    } else {
      data.push_back(opt);
    }
  }
  if (out.bind) out.flags |= MS_BIND;
  out.data = absl::StrJoin(data, ",");
  return out;
}

namespace {

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

// mkdir -p inside `root`, never following a symlink out of it. Returns an
// O_PATH descriptor of the final directory.
absl::StatusOr<UniqueFd> MkdirAllInRoot(int root, const std::string& path, int hops = 0) {
  UniqueFd current(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  std::vector<std::string> parts = absl::StrSplit(path, '/', absl::SkipEmpty());
  std::string walked;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string parent = walked;
    walked = absl::StrCat(walked, "/", parts[i]);
    auto next = OpenInRoot(root, walked, O_PATH | O_DIRECTORY);
    if (!next.ok() && next.status().code() == absl::StatusCode::kNotFound) {
      const char* name = parts[i].c_str();
      if (::mkdirat(current.get(), name, 0755) != 0) {
        if (errno != EEXIST) return gantry::LastErrno(absl::StrCat("mkdir ", walked, " in rootfs"));
        // A dangling symlink: make its target, resolved inside the rootfs
        // (as runc does: images link /var/run -> /run before /run exists).
        char target[PATH_MAX];
        ssize_t n = ::readlinkat(current.get(), name, target, sizeof target - 1);
        if (n <= 0 || hops >= 40)
          return gantry::LastErrno(absl::StrCat("mkdir ", walked, " in rootfs"));
        std::string resolved(target, static_cast<size_t>(n));
        if (resolved[0] != '/') resolved = absl::StrCat(parent, "/", resolved);
        for (size_t j = i + 1; j < parts.size(); ++j) absl::StrAppend(&resolved, "/", parts[j]);
        return MkdirAllInRoot(root, resolved, hops + 1);
      }
      next = OpenInRoot(root, walked, O_PATH | O_DIRECTORY);
    }
    if (!next.ok()) return next.status();
    current = std::move(*next);
  }
  return current;
}

// The destination for a mount: a directory, or an empty file when a file is
// bind-mounted. Returns an O_PATH fd of it.
absl::StatusOr<UniqueFd> MakeMountTarget(int root, const std::string& dest, bool file) {
  if (!file) return MkdirAllInRoot(root, dest);
  auto existing = OpenInRoot(root, dest, O_PATH);
  if (existing.ok()) return existing;
  std::string parent = dest.substr(0, dest.rfind('/'));
  std::string name = dest.substr(dest.rfind('/') + 1);
  GANTRY_ASSIGN_OR_RETURN(UniqueFd dir, MkdirAllInRoot(root, parent));
  UniqueFd created(
      ::openat(dir.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!created) return gantry::LastErrno(absl::StrCat("create ", dest, " in rootfs"));
  return OpenInRoot(root, dest, O_PATH);
}

absl::Status MountAt(const std::string& source, int target_fd, const std::string& dest,
                     const std::string& type, unsigned long flags, const std::string& data) {
  if (::mount(source.c_str(), FdPath(target_fd).c_str(), type.empty() ? nullptr : type.c_str(),
              flags, data.empty() ? nullptr : data.c_str()) != 0)
    return gantry::LastErrno(absl::StrCat("mount ", type.empty() ? source : type, " on ", dest));
  return absl::OkStatus();
}

// Re-reads the target after mounting: the earlier fd refers to what lay beneath.
absl::Status Remount(int root, const std::string& dest, unsigned long flags) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, OpenInRoot(root, dest, O_PATH));
  if (::mount(nullptr, FdPath(fd.get()).c_str(), nullptr, flags, nullptr) != 0)
    return gantry::LastErrno(absl::StrCat("remount ", dest));
  return absl::OkStatus();
}

absl::Status SetPropagation(int root, const std::string& dest, unsigned long propagation) {
  if (!propagation) return absl::OkStatus();
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, OpenInRoot(root, dest, O_PATH));
  if (::mount(nullptr, FdPath(fd.get()).c_str(), nullptr, propagation, nullptr) != 0)
    return gantry::LastErrno(absl::StrCat("set propagation of ", dest));
  return absl::OkStatus();
}

// Binds a host tree read-only where a container may not mount its own
// instance (sysfs without a network namespace, cgroups when rootless).
absl::Status BindHostReadOnly(int root, int target_fd, const std::string& host_path,
                              const std::string& dest) {
  GANTRY_RETURN_IF_ERROR(MountAt(host_path, target_fd, dest, "", MS_BIND | MS_REC, ""));
  return Remount(root, dest, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

// "cgroup" mounts: cgroup2 on a pure-v2 host; otherwise a tmpfs with each
// v1 hierarchy's container directory bind-mounted in, as runc does.
absl::Status MountCgroups(int root, const Mount& m, const MountFlags& mf,
                          const RootfsOptions& options) {
  auto only_v2 = options.cgroup_paths.size() == 1 && options.cgroup_paths.count("");
  GANTRY_ASSIGN_OR_RETURN(UniqueFd target, MkdirAllInRoot(root, m.destination));
  unsigned long base = mf.flags & ~MS_BIND;
  if (only_v2 || options.cgroup_paths.empty()) {
    absl::Status st = MountAt("cgroup2", target.get(), m.destination, "cgroup2", base, "");
    // A rootless container without a cgroup of its own may not mount one:
    // it sees the host's hierarchy read-only instead.
    if (!st.ok() && errno == EPERM && options.cgroup_paths.empty())
      st = BindHostReadOnly(root, target.get(), "/sys/fs/cgroup", m.destination);
    return st;
  }
  GANTRY_RETURN_IF_ERROR(MountAt("tmpfs", target.get(), m.destination, "tmpfs",
                                 (base & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                 "mode=755"));
  std::map<std::string, std::string> dirs;  // host dir -> mount name
  for (const auto& [controller, path] : options.cgroup_paths) {
    if (controller.empty()) continue;
    // A hierarchy holding several controllers ("cpu,cpuacct") gets one mount.
    std::string hierarchy = path.substr(0, path.find('/', std::string("/sys/fs/cgroup/").size()));
    std::string name = hierarchy.substr(hierarchy.rfind('/') + 1);
    dirs[path] = name;
  }
  for (const auto& [path, name] : dirs) {
    std::string dest = absl::StrCat(m.destination, "/", name);
    GANTRY_ASSIGN_OR_RETURN(UniqueFd sub, MkdirAllInRoot(root, dest));
    GANTRY_RETURN_IF_ERROR(MountAt(path, sub.get(), dest, "", MS_BIND | MS_REC, ""));
    if (base & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))
      GANTRY_RETURN_IF_ERROR(
          Remount(root, dest,
                  MS_BIND | MS_REMOUNT | (base & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))));
  }
  if (base & MS_RDONLY) GANTRY_RETURN_IF_ERROR(Remount(root, m.destination, base | MS_REMOUNT));
  return absl::OkStatus();
}

absl::Status MountOne(int root, const Mount& m, const RootfsOptions& options) {
  MountFlags mf = ParseMountOptions(m.options);
  std::string type = m.type;
  if (type == "bind") mf.bind = true, mf.flags |= MS_BIND;
  if (type == "cgroup") return MountCgroups(root, m, mf, options);

  if (mf.bind) {
    struct stat st;
    if (::stat(m.source.c_str(), &st) != 0)
      return gantry::LastErrno(absl::StrCat("mount ", m.destination, ": source ", m.source));
    GANTRY_ASSIGN_OR_RETURN(UniqueFd target,
                            MakeMountTarget(root, m.destination, !S_ISDIR(st.st_mode)));
    GANTRY_RETURN_IF_ERROR(
        MountAt(m.source, target.get(), m.destination, "", MS_BIND | (mf.flags & MS_REC), ""));
    // Bind mounts ignore every other flag on the first call: remount to apply them.
    unsigned long extra = mf.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (extra) GANTRY_RETURN_IF_ERROR(Remount(root, m.destination, MS_BIND | MS_REMOUNT | extra));
    return SetPropagation(root, m.destination, mf.propagation);
  }

  // proc and sysfs must never land on a symlink (CVE-2019-19921 class).
  bool kernel_fs = type == "proc" || type == "sysfs";
  GANTRY_ASSIGN_OR_RETURN(UniqueFd target, MkdirAllInRoot(root, m.destination));
  if (kernel_fs) {
    auto check = OpenInRoot(root, m.destination, O_PATH | O_NOFOLLOW);
    struct stat st;
    if (check.ok() && ::fstat(check->get(), &st) == 0 && !S_ISDIR(st.st_mode))
      return absl::InvalidArgumentError(
          absl::StrCat("mount ", type, " on ", m.destination, ": destination is not a directory"));
  }
  absl::Status st = MountAt(m.source.empty() ? type : m.source, target.get(), m.destination, type,
                            mf.flags & ~MS_REMOUNT, mf.data);
  if (!st.ok() && type == "sysfs" && (errno == EPERM || errno == EBUSY)) {
    // Without its own network namespace a container may not mount sysfs:
    // like runc, bind the host's read-only instead.
    st = BindHostReadOnly(root, target.get(), "/sys", m.destination);
  }
  GANTRY_RETURN_IF_ERROR(st);
  return SetPropagation(root, m.destination, mf.propagation);
}

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

absl::Status CreateDevice(int root, const Device& d, bool bind_from_host) {
  std::string parent = d.path.substr(0, d.path.rfind('/'));
  std::string name = d.path.substr(d.path.rfind('/') + 1);
  GANTRY_ASSIGN_OR_RETURN(UniqueFd dir, MkdirAllInRoot(root, parent));
  ::unlinkat(dir.get(), name.c_str(), 0);
  if (bind_from_host) {
    UniqueFd f(
        ::openat(dir.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!f) return gantry::LastErrno(absl::StrCat("create ", d.path));
    GANTRY_ASSIGN_OR_RETURN(UniqueFd target, OpenInRoot(root, d.path, O_PATH));
    return MountAt(d.path, target.get(), d.path, "", MS_BIND, "");
  }
  mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
  mode_t mode = type | (d.file_mode.value_or(0666) & 07777);
  if (::mknodat(dir.get(), name.c_str(), mode,
                makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) != 0)
    return gantry::LastErrno(absl::StrCat("mknod ", d.path));
  // mknod honours the umask; the spec's mode is exact.
  if (::fchmodat(dir.get(), name.c_str(), mode & 07777, 0) != 0)
    return gantry::LastErrno(absl::StrCat("chmod ", d.path));
  if (::fchownat(dir.get(), name.c_str(), d.uid.value_or(0), d.gid.value_or(0),
                 AT_SYMLINK_NOFOLLOW) != 0)
    return gantry::LastErrno(absl::StrCat("chown ", d.path));
  return absl::OkStatus();
}

absl::Status SetupDev(int root, const Spec& spec, const RootfsOptions& options) {
  bool dev_is_bind = false;
  bool has_devpts = false;
  for (const auto& m : spec.mounts) {
    if (m.destination == "/dev" && (m.type == "bind" || ParseMountOptions(m.options).bind))
      dev_is_bind = true;
    if (m.type == "devpts") has_devpts = true;
  }
  if (dev_is_bind) return absl::OkStatus();
  mode_t old_umask = ::umask(0);
  absl::Status st;
  for (const auto& dd : kDefaultDevices) {
    Device d;
    d.path = dd.path;
    d.major = dd.major;
    d.minor = dd.minor;
    d.file_mode = 0666;
    if (st.ok()) st = CreateDevice(root, d, options.user_namespace);
  }
  for (const auto& d : spec.linux.devices)
    if (st.ok()) st = CreateDevice(root, d, options.user_namespace);
  ::umask(old_umask);
  GANTRY_RETURN_IF_ERROR(st);

  GANTRY_ASSIGN_OR_RETURN(UniqueFd dev, MkdirAllInRoot(root, "/dev"));
  std::vector<std::pair<const char*, const char*>> links = {
      {"/proc/self/fd", "fd"},
      {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"},
  };
  if (::access("/proc/kcore", F_OK) == 0) links.push_back({"/proc/kcore", "core"});
  if (has_devpts) {
    ::unlinkat(dev.get(), "ptmx", 0);
    links.push_back({"pts/ptmx", "ptmx"});
  }
  for (const auto& [target, name] : links) {
    if (::symlinkat(target, dev.get(), name) != 0 && errno != EEXIST)
      return gantry::LastErrno(absl::StrCat("symlink /dev/", name));
  }
  return absl::OkStatus();
}

// pivot_root refuses a new root whose parent mount is shared (with
// rootfsPropagation "shared", / is): the mount holding the rootfs (which
// becomes the parent of its bind mount) is made private first, as runc does;
// the configured propagation is applied to / again after the pivot.
absl::Status MakeRootfsParentPrivate(const std::string& rootfs) {
  auto mountinfo = gantry::ReadFile("/proc/self/mountinfo");
  if (!mountinfo.ok()) return mountinfo.status();
  std::string best_point;
  bool best_shared = false;
  for (absl::string_view line : absl::StrSplit(*mountinfo, '\n', absl::SkipEmpty())) {
    // "id parent major:minor root mount-point options optional... - type ..."
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 7) continue;
    const std::string point(fields[4]);
    const bool contains = point == "/" || point == rootfs || absl::StartsWith(rootfs, point + "/");
    if (!contains || point.size() < best_point.size()) continue;
    best_point = point;
    best_shared = false;
    for (size_t i = 6; i < fields.size() && fields[i] != "-"; ++i) {
      best_shared |= absl::StartsWith(fields[i], "shared:");
    }
  }
  if (!best_shared) return absl::OkStatus();
  if (::mount(nullptr, best_point.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
    return gantry::LastErrno(absl::StrCat("make ", best_point, " private for pivot_root"));
  return absl::OkStatus();
}

}  // namespace

absl::Status PrepareRootfs(const Spec& spec, const RootfsOptions& options) {
  // Nothing we mount may propagate back to the host: rslave by default (runc's choice).
  unsigned long propagation = MS_SLAVE | MS_REC;
  if (!spec.linux.rootfs_propagation.empty())
    propagation = ParseMountOptions({spec.linux.rootfs_propagation}).propagation;
  if (::mount(nullptr, "/", nullptr, propagation, nullptr) != 0)
    return gantry::LastErrno("set propagation of /");
  if (!options.no_pivot) GANTRY_RETURN_IF_ERROR(MakeRootfsParentPrivate(options.rootfs));
  // pivot_root needs the new root to be a mount point.
  if (::mount(options.rootfs.c_str(), options.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) !=
      0)
    return gantry::LastErrno(absl::StrCat("bind mount rootfs ", options.rootfs));

  UniqueFd root(::open(options.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return gantry::LastErrno(absl::StrCat("open rootfs ", options.rootfs));
  for (size_t i = 0; i < spec.mounts.size(); ++i)
    GANTRY_RETURN_IF_ERROR(gantry::Annotate(MountOne(root.get(), spec.mounts[i], options),
                                            absl::StrCat("mounts[", i, "]")));
  return SetupDev(root.get(), spec, options);
}

absl::Status EnterRootfs(const RootfsOptions& options) {
  if (options.no_pivot) {
    if (::chdir(options.rootfs.c_str()) != 0) return gantry::LastErrno("chdir rootfs");
    if (::mount(options.rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0)
      return gantry::LastErrno("move rootfs to /");
    if (::chroot(".") != 0) return gantry::LastErrno("chroot");
    if (::chdir("/") != 0) return gantry::LastErrno("chdir /");
    return absl::OkStatus();
  }
  UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  UniqueFd new_root(::open(options.rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root || !new_root) return gantry::LastErrno("open roots for pivot_root");
  if (::fchdir(new_root.get()) != 0) return gantry::LastErrno("chdir rootfs");
  // pivot_root(".", ".") stacks the old root under the new one; we then
  // detach it, so no path in the container leads to the host (runc's trick).
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return gantry::LastErrno("pivot_root");
  if (::fchdir(old_root.get()) != 0) return gantry::LastErrno("chdir old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
    return gantry::LastErrno("make old root rslave");
  if (::umount2(".", MNT_DETACH) != 0) return gantry::LastErrno("unmount old root");
  if (::chdir("/") != 0) return gantry::LastErrno("chdir /");
  return absl::OkStatus();
}

absl::Status FinishRootfs(const Spec& spec) {
  if (!spec.linux.rootfs_propagation.empty()) {
    const unsigned long propagation =
        ParseMountOptions({spec.linux.rootfs_propagation}).propagation;
    if (::mount(nullptr, "/", nullptr, propagation, nullptr) != 0)
      return gantry::LastErrno("linux.rootfsPropagation: set propagation of /");
  }
  // Sysctls first, as runc does: /proc/sys is usually in readonlyPaths.
  for (const auto& [key, value] : spec.linux.sysctl) {
    std::string path = absl::StrCat("/proc/sys/", absl::StrReplaceAll(key, {{".", "/"}}));
    GANTRY_RETURN_IF_ERROR(gantry::Annotate(gantry::WriteExistingFile(path, value),
                                            absl::StrCat("linux.sysctl.", key)));
  }
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return gantry::LastErrno("open /");
  for (const auto& path : spec.linux.readonly_paths) {
    auto fd = OpenInRoot(root.get(), path, O_PATH);
    if (!fd.ok()) {
      if (fd.status().code() == absl::StatusCode::kNotFound) continue;
      return gantry::Annotate(fd.status(), "linux.readonlyPaths");
    }
    GANTRY_RETURN_IF_ERROR(MountAt(FdPath(fd->get()), fd->get(), path, "", MS_BIND | MS_REC, ""));
    GANTRY_RETURN_IF_ERROR(
        Remount(root.get(), path,
                MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | MS_NOSUID | MS_NODEV | MS_NOEXEC));
  }
  for (const auto& path : spec.linux.masked_paths) {
    auto fd = OpenInRoot(root.get(), path, O_PATH);
    if (!fd.ok()) {
      if (fd.status().code() == absl::StatusCode::kNotFound) continue;
      return gantry::Annotate(fd.status(), "linux.maskedPaths");
    }
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return gantry::LastErrno(absl::StrCat("stat ", path));
    if (S_ISDIR(st.st_mode)) {
      GANTRY_RETURN_IF_ERROR(MountAt("tmpfs", fd->get(), path, "tmpfs", MS_RDONLY, ""));
    } else {
      GANTRY_RETURN_IF_ERROR(MountAt("/dev/null", fd->get(), path, "", MS_BIND, ""));
    }
  }
  // Like runc, a missing process.cwd is made, before / can turn read-only.
  if (spec.process)
    GANTRY_RETURN_IF_ERROR(
        gantry::Annotate(MkdirAllInRoot(root.get(), spec.process->cwd).status(), "process.cwd"));
  if (spec.root.readonly) {
    if (::mount(nullptr, "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
      return gantry::LastErrno("remount / read-only");
  }
  return absl::OkStatus();
}

}  // namespace ocirun
