#include "ocirun/lib/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/oci_defaults/capabilities.h"

namespace ocirun {
namespace {

using gantry::oci_defaults::CapabilityNumber;

// Capabilities above the kernel's last one are skipped, as runc does.
int LastKernelCap() { return gantry::oci_defaults::LastKernelCapability(); }

uint64_t Mask(const std::vector<std::string>& names) {
  uint64_t mask = 0;
  for (const auto& n : names) {
    int v = CapabilityNumber(n);
    if (v >= 0 && v <= LastKernelCap()) mask |= uint64_t{1} << v;
  }
  return mask;
}

}  // namespace

bool IsKnownCapability(const std::string& name) { return CapabilityNumber(name) >= 0; }

std::vector<std::string> KnownCapabilities() { return gantry::oci_defaults::AllCapabilities(); }

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
