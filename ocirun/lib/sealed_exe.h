// CVE-2019-5736: a process in a container that reaches one of ours through
// /proc/PID/exe (it shares our pid namespace, or holds CAP_SYS_PTRACE, which
// overrides non-dumpable) must find a sealed in-memory copy of ocirun, never
// the host's binary, which it could otherwise reopen for write once we exit.
#pragma once

#include "absl/status/status.h"

namespace ocirun {

// Re-executes the running binary, with the same argv and environment, from a
// memfd copy sealed against every change (F_SEAL_SEAL, SHRINK, GROW, WRITE),
// as runc does. Returns OK at once when already running from such a copy;
// otherwise returns only on failure.
absl::Status ReexecFromSealedCopy(char** argv);

}  // namespace ocirun
