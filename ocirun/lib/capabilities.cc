#include "ocirun/lib/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace ocirun {
namespace {

struct CapName {
  const char* name;
  int value;
};

// Names from <linux/capability.h>; kept here so validation does not depend on
// the running kernel (as runc's list does not).
constexpr CapName kCapabilities[] = {
    {"CAP_CHOWN", 0},
    {"CAP_DAC_OVERRIDE", 1},
    {"CAP_DAC_READ_SEARCH", 2},
    {"CAP_FOWNER", 3},
    {"CAP_FSETID", 4},
    {"CAP_KILL", 5},
    {"CAP_SETGID", 6},
    {"CAP_SETUID", 7},
    {"CAP_SETPCAP", 8},
    {"CAP_LINUX_IMMUTABLE", 9},
    {"CAP_NET_BIND_SERVICE", 10},
    {"CAP_NET_BROADCAST", 11},
    {"CAP_NET_ADMIN", 12},
    {"CAP_NET_RAW", 13},
    {"CAP_IPC_LOCK", 14},
    {"CAP_IPC_OWNER", 15},
    {"CAP_SYS_MODULE", 16},
    {"CAP_SYS_RAWIO", 17},
    {"CAP_SYS_CHROOT", 18},
    {"CAP_SYS_PTRACE", 19},
    {"CAP_SYS_PACCT", 20},
    {"CAP_SYS_ADMIN", 21},
    {"CAP_SYS_BOOT", 22},
    {"CAP_SYS_NICE", 23},
    {"CAP_SYS_RESOURCE", 24},
    {"CAP_SYS_TIME", 25},
    {"CAP_SYS_TTY_CONFIG", 26},
    {"CAP_MKNOD", 27},
    {"CAP_LEASE", 28},
    {"CAP_AUDIT_WRITE", 29},
    {"CAP_AUDIT_CONTROL", 30},
    {"CAP_SETFCAP", 31},
    {"CAP_MAC_OVERRIDE", 32},
    {"CAP_MAC_ADMIN", 33},
    {"CAP_SYSLOG", 34},
    {"CAP_WAKE_ALARM", 35},
    {"CAP_BLOCK_SUSPEND", 36},
    {"CAP_AUDIT_READ", 37},
    {"CAP_PERFMON", 38},
    {"CAP_BPF", 39},
    {"CAP_CHECKPOINT_RESTORE", 40},
};

int CapValue(const std::string& name) {
  for (const auto& c : kCapabilities)
    if (name == c.name) return c.value;
  return -1;
}

// Highest capability the running kernel knows; higher ones are skipped like runc does.
int LastKernelCap() {
  static int last = [] {
    int v = 40;
    if (FILE* f = fopen("/proc/sys/kernel/cap_last_cap", "re")) {
      if (fscanf(f, "%d", &v) != 1) v = 40;
      fclose(f);
    }
    return v;
  }();
  return last;
}

uint64_t Mask(const std::vector<std::string>& names) {
  uint64_t mask = 0;
  for (const auto& n : names) {
    int v = CapValue(n);
    if (v >= 0 && v <= LastKernelCap()) mask |= uint64_t{1} << v;
  }
  return mask;
}

}  // namespace

bool IsKnownCapability(const std::string& name) { return CapValue(name) >= 0; }

std::vector<std::string> KnownCapabilities() {
  std::vector<std::string> names;
  for (const auto& c : kCapabilities) names.push_back(c.name);
  return names;
}

absl::Status DropBoundingSet(const Capabilities& caps) {
  uint64_t keep = Mask(caps.bounding);
  for (int cap = 0; cap <= LastKernelCap(); ++cap) {
    if (keep & (uint64_t{1} << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      return gantry::LastErrno(absl::StrCat("drop capability ", cap, " from bounding set"));
  }
  return absl::OkStatus();
}

absl::Status ApplyCapabilitySets(const Capabilities& caps) {
  uint64_t eff = Mask(caps.effective), perm = Mask(caps.permitted), inh = Mask(caps.inheritable);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(eff >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(perm >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(inh >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) != 0) return gantry::LastErrno("capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    return gantry::LastErrno("clear ambient capabilities");
  uint64_t ambient = Mask(caps.ambient);
  for (int cap = 0; cap <= LastKernelCap(); ++cap) {
    if (!(ambient & (uint64_t{1} << cap))) continue;
    // Like runc, an ambient capability not also inheritable+permitted is skipped.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0 && errno != EPERM)
      return gantry::LastErrno(absl::StrCat("raise ambient capability ", cap));
  }
  return absl::OkStatus();
}

}  // namespace ocirun
