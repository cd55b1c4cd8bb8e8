// CVE-2019-5736: a process in a container that reaches one of ours through
// /proc/PID/exe (it shares our pid namespace, or holds CAP_SYS_PTRACE, which
// overrides non-dumpable) must find a sealed in-memory copy of ocirun, never
// the host's binary, which it could otherwise reopen for write once we exit.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace ocirun {

// Re-executes the running binary, with the same argv and environment, from a
// view of it that cannot be written, as runc does: the file through a
// read-only overlayfs mounted nowhere, whose second layer is `second_layer`
// (made if missing; ocirun's --root: any directory apart from the binary's);
// or, without the privilege for that, a memfd copy sealed against every
// change. Returns OK at once in
// the re-executed process; otherwise returns only on failure.
absl::Status ReexecUnwritable(char** argv, const std::string& second_layer);

}  // namespace ocirun
