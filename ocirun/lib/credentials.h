// The last privileged steps of a container process, shared by the init and
// by `exec`: resource limits, then the user switch with capabilities.
#pragma once

#include "absl/status/status.h"
#include "ocirun/lib/seccomp.h"
#include "ocirun/lib/spec.h"
#include "ocirun/lib/sync.h"

namespace ocirun {

absl::Status SetRlimits(const Process& process);

// Drops the bounding set, switches to process.user (groups, gid, uid) keeping
// capabilities across it (PR_SET_KEEPCAPS), then sets the final capability sets,
// as runc's finalizeNamespace does.
absl::Status SwitchUserAndCapabilities(const Process& process);

// The whole last stretch in runc's order: no_new_privs, the seccomp filter
// (before the user switch when it needs CAP_SYS_ADMIN, i.e. without
// no_new_privs; after it otherwise), the user switch, the umask. A seccomp
// notify fd is handed to the runtime over `sync`.
absl::Status FinalizeProcess(const Process& process, const SeccompFilter* seccomp,
                             const SyncSocket& sync);

// Marks every descriptor above stdio and the preserved ones close-on-exec, so
// no host fd reaches the user's program (CVE-2024-21626).
// Called once before the seccomp filter is installed and once more right
// before execve (`seccomp_installed`), when a filter may refuse close_range.
absl::Status CloseInheritedFds(int preserve_fds, bool seccomp_installed = false);

}  // namespace ocirun
