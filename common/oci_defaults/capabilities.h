// Linux capability names as OCI writes them ("CAP_SYS_ADMIN"), Docker's
// default set, and Docker's --cap-add/--cap-drop rules, for every executable
// that builds or checks process.capabilities.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::oci_defaults {

// Every capability Linux defines, indexed by its number. Fixed, not read
// from the running kernel, so validation is the same on every host (runc's
// list is fixed too).
const std::vector<std::string>& AllCapabilities();

// The capability's number, or -1 for an unknown name (names take "CAP_").
int CapabilityNumber(absl::string_view name);

// Highest capability number the running kernel knows (cap_last_cap).
int LastKernelCapability();

// Docker's default set (moby's oci/caps DefaultCapabilities), in its order.
const std::vector<std::string>& DockerDefaultCapabilities();

// `base` with Docker's --cap-add/--cap-drop applied: names in any case, with
// or without "CAP_"; "ALL" in `add` grants every capability the kernel knows
// but those dropped, "ALL" in `drop` keeps only those added. An unknown name
// is an error naming it.
absl::StatusOr<std::vector<std::string>> MergeCapabilities(const std::vector<std::string>& base,
                                                           const std::vector<std::string>& add,
                                                           const std::vector<std::string>& drop);

}  // namespace gantry::oci_defaults
