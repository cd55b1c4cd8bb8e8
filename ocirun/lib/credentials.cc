#include "ocirun/lib/credentials.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "ocirun/lib/capabilities.h"

namespace ocirun {
namespace {

// setgroups is denied in user namespaces whose mappings were written without it.
bool SetgroupsAllowed() {
  int fd = ::open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  char buf[16] = {};
  (void)!::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  return std::string(buf).rfind("deny", 0) != 0;
}

}  // namespace

absl::Status SetRlimits(const Process& p) {
  for (const auto& rl : p.rlimits) {
    struct rlimit limit {
      rl.soft, rl.hard
    };
    if (::setrlimit(static_cast<__rlimit_resource>(rl.resource), &limit) != 0)
      return gantry::LastErrno(absl::StrCat("process.rlimits: set ", rl.type));
  }
  return absl::OkStatus();
}

absl::Status SwitchUserAndCapabilities(const Process& p) {
  if (p.capabilities) GANTRY_RETURN_IF_ERROR(DropBoundingSet(*p.capabilities));
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return gantry::LastErrno("PR_SET_KEEPCAPS");
  if (SetgroupsAllowed()) {
    std::vector<gid_t> groups(p.user.additional_gids.begin(), p.user.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) != 0)
      return gantry::LastErrno("process.user.additionalGids: setgroups");
  }
  if (::setresgid(p.user.gid, p.user.gid, p.user.gid) != 0)
    return gantry::LastErrno(absl::StrCat("process.user.gid: setresgid ", p.user.gid));
  if (::setresuid(p.user.uid, p.user.uid, p.user.uid) != 0)
    return gantry::LastErrno(absl::StrCat("process.user.uid: setresuid ", p.user.uid));
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return gantry::LastErrno("PR_SET_KEEPCAPS");
  if (p.capabilities) GANTRY_RETURN_IF_ERROR(ApplyCapabilitySets(*p.capabilities));
  return absl::OkStatus();
}

namespace {
absl::Status LoadSeccomp(const SeccompFilter& seccomp, const SyncSocket& sync) {
  GANTRY_ASSIGN_OR_RETURN(gantry::UniqueFd notify, seccomp.Load());
  if (notify) GANTRY_RETURN_IF_ERROR(sync.SendFd(SyncMessage::kSeccompFd, notify.get()));
  return absl::OkStatus();
}
}  // namespace

absl::Status FinalizeProcess(const Process& p, const SeccompFilter* seccomp,
                             const SyncSocket& sync) {
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return gantry::LastErrno("process.noNewPrivileges");
  if (seccomp && !p.no_new_privileges) GANTRY_RETURN_IF_ERROR(LoadSeccomp(*seccomp, sync));
  GANTRY_RETURN_IF_ERROR(SwitchUserAndCapabilities(p));
  if (seccomp && p.no_new_privileges) GANTRY_RETURN_IF_ERROR(LoadSeccomp(*seccomp, sync));
  ::umask(p.user.umask ? static_cast<mode_t>(*p.user.umask) : 022);
  return absl::OkStatus();
}

absl::Status CloseInheritedFds(int preserve_fds, bool seccomp_installed) {
  unsigned first = 3 + static_cast<unsigned>(preserve_fds);
  if (::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return absl::OkStatus();
  // An allow-list filter without close_range (runtime-tools' has none) makes
  // it EPERM/ENOSYS: everything was marked before the filter went in, and
  // what we opened since is O_CLOEXEC.
  if (seccomp_installed && (errno == EPERM || errno == ENOSYS)) return absl::OkStatus();
  return gantry::LastErrno("close_range");
}

}  // namespace ocirun
