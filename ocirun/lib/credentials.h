// The last privileged steps of a container process, shared by the init and
// by `exec`: resource limits, then the user switch with capabilities.
#pragma once

#include "absl/status/status.h"
#include "ocirun/lib/spec.h"

namespace ocirun {

absl::Status SetRlimits(const Process& process);

// Drops the bounding set, switches to process.user (groups, gid, uid) keeping
// capabilities across it (PR_SET_KEEPCAPS), then sets the final capability sets,
// as runc's finalizeNamespace does.
absl::Status SwitchUserAndCapabilities(const Process& process);

}  // namespace ocirun
