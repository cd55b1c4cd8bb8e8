// Linux capabilities by their OCI names ("CAP_SYS_ADMIN") and applying the
// five sets of process.capabilities.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ocirun/lib/spec.h"

namespace ocirun {

bool IsKnownCapability(const std::string& name);
// Every capability name the library knows, for `features`.
std::vector<std::string> KnownCapabilities();

// Drops from the bounding set every capability not in `caps.bounding`.
// Needs CAP_SETPCAP, so it runs before the user switch.
absl::Status DropBoundingSet(const Capabilities& caps);
// Sets effective, permitted and inheritable sets, then raises ambient ones.
// Runs after the user switch (with PR_SET_KEEPCAPS held across it).
absl::Status ApplyCapabilitySets(const Capabilities& caps);

}  // namespace ocirun
