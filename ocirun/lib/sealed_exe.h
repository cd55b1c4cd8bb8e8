// CVE-2019-5736: a process in a container that reaches one of ours through
// /proc/PID/exe (it shares our pid namespace, or holds CAP_SYS_PTRACE, which
// overrides non-dumpable) must find a sealed in-memory copy of ocirun, never
// the host's binary, which it could otherwise reopen for write once we exit.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

// Whether a process of ours that joins a container with this config and
// these bounding capabilities could be reached through /proc/PID/exe from a
// container. Our joining processes are non-dumpable, which only CAP_SYS_PTRACE
// in the host's user namespace overrides: so only when the process keeps that
// capability without a user namespace of its own, or shares a pid namespace
// (the host's, or another container's, whose processes may hold it). The
// re-exec costs a start-up (~2 ms), so containers that need none skip it.
bool NeedsUnwritableExe(const nlohmann::json& config,
                        const std::vector<std::string>& bounding_caps);

}  // namespace ocirun
