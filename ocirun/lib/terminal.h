// The container's pty: made inside the container (from its devpts), the
// master sent to --console-socket exactly as runc does, the slave becoming
// the init's controlling terminal and stdio.
#pragma once

#include "absl/status/status.h"
#include "ocirun/lib/spec.h"

namespace ocirun {

// Runs in the container after pivot_root, with the session already new.
absl::Status SetupConsole(int console_socket, const std::optional<ConsoleSize>& size);

}  // namespace ocirun
