#include "common/oci_defaults/capabilities.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gantry::oci_defaults {
namespace {

constexpr absl::string_view kAll = "ALL";

bool Contains(const std::vector<std::string>& names, absl::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Upper-cased, "CAP_"-prefixed and known; "ALL" stays as it is.
absl::StatusOr<std::vector<std::string>> Normalize(const std::vector<std::string>& names,
                                                   absl::string_view flag) {
  std::vector<std::string> out;
  for (const auto& raw : names) {
    std::string name = absl::AsciiStrToUpper(raw);
    if (name != kAll && !absl::StartsWith(name, "CAP_")) name = absl::StrCat("CAP_", name);
    if (name != kAll && CapabilityNumber(name) < 0)
      return absl::InvalidArgumentError(absl::StrCat(flag, ": unknown capability \"", raw, "\""));
    out.push_back(std::move(name));
  }
  return out;
}

}  // namespace

const std::vector<std::string>& AllCapabilities() {
  // <linux/capability.h>, by number.
  static const std::vector<std::string> kNames = {
      "CAP_CHOWN",
      "CAP_DAC_OVERRIDE",
      "CAP_DAC_READ_SEARCH",
      "CAP_FOWNER",
      "CAP_FSETID",
      "CAP_KILL",
      "CAP_SETGID",
      "CAP_SETUID",
      "CAP_SETPCAP",
      "CAP_LINUX_IMMUTABLE",
      "CAP_NET_BIND_SERVICE",
      "CAP_NET_BROADCAST",
      "CAP_NET_ADMIN",
      "CAP_NET_RAW",
      "CAP_IPC_LOCK",
      "CAP_IPC_OWNER",
      "CAP_SYS_MODULE",
      "CAP_SYS_RAWIO",
      "CAP_SYS_CHROOT",
      "CAP_SYS_PTRACE",
      "CAP_SYS_PACCT",
      "CAP_SYS_ADMIN",
      "CAP_SYS_BOOT",
      "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE",
      "CAP_SYS_TIME",
      "CAP_SYS_TTY_CONFIG",
      "CAP_MKNOD",
      "CAP_LEASE",
      "CAP_AUDIT_WRITE",
      "CAP_AUDIT_CONTROL",
      "CAP_SETFCAP",
      "CAP_MAC_OVERRIDE",
      "CAP_MAC_ADMIN",
      "CAP_SYSLOG",
      "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND",
      "CAP_AUDIT_READ",
      "CAP_PERFMON",
      "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE",
  };
  return kNames;
}

int CapabilityNumber(absl::string_view name) {
  const auto& all = AllCapabilities();
  auto it = std::find(all.begin(), all.end(), name);
  return it == all.end() ? -1 : static_cast<int>(it - all.begin());
}

int LastKernelCapability() {
  static const int last = [] {
    int v = static_cast<int>(AllCapabilities().size()) - 1;
    if (FILE* f = std::fopen("/proc/sys/kernel/cap_last_cap", "re")) {
      if (std::fscanf(f, "%d", &v) != 1) v = static_cast<int>(AllCapabilities().size()) - 1;
      std::fclose(f);
    }
    return v;
  }();
  return last;
}

const std::vector<std::string>& DockerDefaultCapabilities() {
  static const std::vector<std::string> kDefaults = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  return kDefaults;
}

absl::StatusOr<std::vector<std::string>> MergeCapabilities(const std::vector<std::string>& base,
                                                           const std::vector<std::string>& add,
                                                           const std::vector<std::string>& drop) {
  auto adds = Normalize(add, "cap-add");
  if (!adds.ok()) return adds.status();
  auto drops = Normalize(drop, "cap-drop");
  if (!drops.ok()) return drops.status();
  std::vector<std::string> out;
  auto keep = [&](const std::string& name) {
    if (!Contains(out, name)) out.push_back(name);
  };
  if (Contains(*adds, kAll)) {
    // Like moby: "ALL" means what this kernel has, not names it does not know.
    const auto& all = AllCapabilities();
    for (int i = 0; i <= LastKernelCapability() && i < static_cast<int>(all.size()); ++i)
      if (!Contains(*drops, all[i])) keep(all[i]);
  } else if (Contains(*drops, kAll)) {
    for (const auto& name : *adds) keep(name);
  } else {
    for (const auto& name : base)
      if (!Contains(*drops, name)) keep(name);
    for (const auto& name : *adds) keep(name);
  }
  return out;
}

}  // namespace gantry::oci_defaults
