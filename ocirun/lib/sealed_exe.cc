#include "ocirun/lib/sealed_exe.h"

#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/unique_fd.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char** environ;

namespace ocirun {
namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
// Set across the re-exec only, so a view that is somehow writable fails
// instead of re-executing forever.
constexpr char kReexecMarker[] = "_OCIRUN_SEALED_REEXEC";

// A sealed memfd, or a file on a read-only mount (the overlay below).
bool IsUnwritable(int fd) {
  int seals = ::fcntl(fd, F_GET_SEALS);  // EINVAL for anything but a memfd
  if (seals >= 0) return (seals & kSeals) == kSeals;
  struct statvfs vfs;
  return ::fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

// overlayfs separates lower layers with ':' and escapes with '\'.
std::string EscapeLowerDir(const std::string& dir) {
  std::string out;
  for (char c : dir) {
    if (c == ':' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// The binary seen through a new overlayfs made of lower layers only (its own
// directory on top of `second_layer`, as overlayfs wants two), mounted
// read-only and attached to no mount namespace: nothing can write through it,
// nor reach a writable path from it. Zero-copy, so much cheaper than a memfd
// (runc 1.2 does the same). Needs CAP_SYS_ADMIN and Linux 5.2; the caller
// falls back to a memfd.
absl::StatusOr<gantry::UniqueFd> ReadOnlyOverlayView(int exe, const std::string& second_layer) {
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return gantry::LastErrno("readlink /proc/self/exe");
  std::string self(path, static_cast<size_t>(n));
  size_t slash = self.rfind('/');
  if (slash == std::string::npos || second_layer.empty())
    return absl::FailedPreconditionError("no directory for an overlay");
  std::string dir = slash == 0 ? "/" : self.substr(0, slash), name = self.substr(slash + 1);
  gantry::UniqueFd ctx(static_cast<int>(::syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC)));
  if (!ctx) return gantry::LastErrno("fsopen overlay");
  std::string lower = absl::StrCat(EscapeLowerDir(dir), ":", EscapeLowerDir(second_layer));
  if (::syscall(SYS_fsconfig, ctx.get(), FSCONFIG_SET_STRING, "lowerdir", lower.c_str(), 0) != 0)
    return gantry::LastErrno("overlay lowerdir");
  // xino only adds warnings to the kernel log when the layers' filesystems differ.
  (void)::syscall(SYS_fsconfig, ctx.get(), FSCONFIG_SET_STRING, "xino", "off", 0);
  if (::syscall(SYS_fsconfig, ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return gantry::LastErrno("create overlay");
  gantry::UniqueFd mnt(
      static_cast<int>(::syscall(SYS_fsmount, ctx.get(), FSMOUNT_CLOEXEC,
                                 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID)));
  if (!mnt) return gantry::LastErrno("fsmount overlay");
  gantry::UniqueFd view(::openat(mnt.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!view) return gantry::LastErrno("open ocirun through the overlay");
  // The same file still (not one renamed into its place since we started).
  struct stat a, b;
  if (::fstat(exe, &a) != 0 || ::fstat(view.get(), &b) != 0 || a.st_size != b.st_size ||
      a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec ||
      !IsUnwritable(view.get()))
    return absl::FailedPreconditionError("overlay view differs from /proc/self/exe");
  return view;
}

// The bytes exec(2) needs: the ELF header, program headers and what they
// map, not the debug sections after them (a RelWithDebInfo ocirun is ~50 MB
// of which ~3 MB run; copying it all would double the time of `run`).
// Section headers are dropped with them, so the copy says it has none.
// Anything that is not a well-formed ELF file is copied whole.
off_t ExecutableExtent(int exe, off_t size, ElfW(Ehdr) * header) {
  if (::pread(exe, header, sizeof *header, 0) != static_cast<ssize_t>(sizeof *header) ||
      std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 ||
      header->e_phentsize != sizeof(ElfW(Phdr)))
    return size;
  off_t end = static_cast<off_t>(header->e_phoff + header->e_phnum * sizeof(ElfW(Phdr)));
  for (int i = 0; i < header->e_phnum; ++i) {
    ElfW(Phdr) ph;
    off_t at = static_cast<off_t>(header->e_phoff + i * sizeof ph);
    if (::pread(exe, &ph, sizeof ph, at) != static_cast<ssize_t>(sizeof ph)) return size;
    end = std::max(end, static_cast<off_t>(ph.p_offset + ph.p_filesz));
  }
  return std::min(end, size);
}

absl::StatusOr<gantry::UniqueFd> SealedCopy(int exe) {
  struct stat st;
  if (::fstat(exe, &st) != 0) return gantry::LastErrno("stat /proc/self/exe");
  ElfW(Ehdr) header;
  off_t length = ExecutableExtent(exe, st.st_size, &header);
  // MFD_EXEC: kernels with vm.memfd_noexec would otherwise refuse to run it;
  // older ones do not know the flag.
  gantry::UniqueFd copy(::memfd_create("ocirun", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
  if (!copy && errno == EINVAL)
    copy.Reset(::memfd_create("ocirun", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!copy) return gantry::LastErrno("memfd_create for a sealed copy of ocirun");
  off_t offset = 0;
  while (offset < length) {
    ssize_t n = ::sendfile(copy.get(), exe, &offset, static_cast<size_t>(length - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return gantry::LastErrno("copy ocirun into a memfd");
  }
  if (length < st.st_size) {
    header.e_shoff = 0;
    header.e_shnum = 0;
    header.e_shstrndx = SHN_UNDEF;
    if (::pwrite(copy.get(), &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header))
      return gantry::LastErrno("write ocirun's copy");
  }
  if (::fcntl(copy.get(), F_ADD_SEALS, kSeals) != 0) return gantry::LastErrno("seal ocirun's copy");
  return copy;
}

}  // namespace

absl::Status ReexecUnwritable(char** argv, const std::string& second_layer) {
  gantry::UniqueFd exe(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!exe) return gantry::LastErrno("open /proc/self/exe");
  if (::getenv(kReexecMarker)) {
    if (!IsUnwritable(exe.get()))
      return absl::InternalError("re-executed from a sealed view, yet /proc/self/exe is writable");
    ::unsetenv(kReexecMarker);
    return absl::OkStatus();
  }
  (void)gantry::MakeDirs(second_layer, 0711);
  auto view = ReadOnlyOverlayView(exe.get(), second_layer);
  if (!view.ok()) view = SealedCopy(exe.get());
  if (!view.ok()) return view.status();
  if (::setenv(kReexecMarker, "1", 1) != 0) return gantry::LastErrno("setenv");
  ::fexecve(view->get(), argv, environ);
  int err = errno;
  ::unsetenv(kReexecMarker);
  return gantry::ErrnoError(err, "re-execute ocirun from its sealed view");
}

bool NeedsUnwritableExe(const nlohmann::json& config,
                        const std::vector<std::string>& bounding_caps) {
  bool own_pid_namespace = false;
  bool own_user_namespace = false;
  const nlohmann::json* namespaces = nullptr;
  if (config.is_object() && config.contains("linux") && config["linux"].is_object() &&
      config["linux"].contains("namespaces")) {
    namespaces = &config["linux"]["namespaces"];
  }
  if (namespaces && namespaces->is_array()) {
    for (const nlohmann::json& ns : *namespaces) {
      if (!ns.is_object() || ns.value("path", "") != "") continue;
      own_pid_namespace |= ns.value("type", "") == "pid";
      own_user_namespace |= ns.value("type", "") == "user";
    }
  }
  if (!own_pid_namespace) return true;
  if (own_user_namespace) return false;
  return std::find(bounding_caps.begin(), bounding_caps.end(), "CAP_SYS_PTRACE") !=
         bounding_caps.end();
}

}  // namespace ocirun
