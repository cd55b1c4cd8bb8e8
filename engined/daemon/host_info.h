// Facts about the machine engined runs on, read from the kernel and /etc as
// /info and /version report them.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::engined {

struct HostInfo {
  std::string hostname;
  std::string kernel_version;    // uname -r
  std::string architecture;      // uname -m: "x86_64"
  std::string go_arch;           // Docker's name for it: "amd64"
  std::string operating_system;  // os-release PRETTY_NAME
  std::string os_version;        // os-release VERSION_ID
  int ncpu = 0;
  int64_t mem_total = 0;   // bytes
  int cgroup_version = 1;  // 2 on a unified hierarchy
  bool memory_limit = false;
  bool swap_limit = false;
  bool cpu_cfs_period = false;
  bool cpu_cfs_quota = false;
  bool cpu_shares = false;
  bool cpuset = false;
  bool pids_limit = false;
  bool ipv4_forwarding = false;
  bool bridge_nf_iptables = false;  // br_netfilter's sysctls
  bool bridge_nf_ip6tables = false;
};

// Reads what the machine offers; a fact that cannot be read keeps its zero
// value, since /info must answer anyway.
HostInfo ReadHostInfo();

// PRETTY_NAME and VERSION_ID from os-release text.
void ParseOsRelease(absl::string_view text, HostInfo& info);

// Docker's (Go's) architecture name for a `uname -m` machine.
std::string GoArch(absl::string_view machine);

// The daemon's ID: made once (a random UUID) and kept in <data_root>/engine-id,
// so clients see the same daemon across restarts.
absl::StatusOr<std::string> LoadOrCreateEngineId(const std::string& data_root);

}  // namespace gantry::engined
