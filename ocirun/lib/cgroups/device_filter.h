// cgroup v2 has no devices.allow/deny files: device access is decided by an
// eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup. This
// builds that program from the OCI device rules and attaches it.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "absl/status/status.h"
#include "ocirun/lib/spec.h"

namespace ocirun::cgroups {

// The program for `rules` with v1's semantics: rules apply in order, the last
// one matching a request decides, and a request no rule matches is allowed
// (a container's rules start by denying everything).
std::vector<bpf_insn> DeviceFilterProgram(const std::vector<DeviceRule>& rules);

// Loads the program for `rules`, attaches it to the cgroup v2 directory
// `cgroup_dir` and detaches the programs attached before (on `update`).
absl::Status AttachDeviceFilter(const std::string& cgroup_dir,
                                const std::vector<DeviceRule>& rules);

}  // namespace ocirun::cgroups
