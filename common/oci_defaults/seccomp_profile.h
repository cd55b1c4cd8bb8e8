// Docker's default seccomp profile (moby's profiles/seccomp/default.json,
// compiled into the binary) and moby's rules that turn a profile into the
// OCI "linux.seccomp" object for one container: rules kept or dropped by the
// container's capabilities, the host architecture and its kernel version.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace gantry::oci_defaults {

// What a profile's rules are conditional on besides capabilities.
struct SeccompPlatform {
  // The architecture by the names moby's profiles use in "arches":
  // "amd64", "x86", "arm64", "arm", "ppc64le", "s390x", "riscv64" ...
  std::string arch;
  int kernel_major = 0;
  int kernel_minor = 0;

  // This host's, from uname(2).
  static SeccompPlatform Host();
};

// The profile as moby ships it (with archMap, includes/excludes).
const nlohmann::json& DockerDefaultSeccompProfile();

// "linux.seccomp" from a moby-format profile for a container whose bounding
// set is `bounding_caps`: "architectures" from the archMap entry of the
// platform's arch, each rule kept when its includes hold and its excludes do
// not, and written without them. Errors name the profile field.
absl::StatusOr<nlohmann::json> SeccompFromProfile(const nlohmann::json& profile,
                                                  const std::vector<std::string>& bounding_caps,
                                                  const SeccompPlatform& platform);

// SeccompFromProfile(DockerDefaultSeccompProfile(), ...): what dockerd puts
// into a container's config.json by default.
absl::StatusOr<nlohmann::json> DockerDefaultSeccomp(const std::vector<std::string>& bounding_caps,
                                                    const SeccompPlatform& platform);

}  // namespace gantry::oci_defaults
