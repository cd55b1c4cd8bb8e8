#include "ocirun/lib/credentials.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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
    struct rlimit limit{rl.soft, rl.hard};
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

}  // namespace ocirun
