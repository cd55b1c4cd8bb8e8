// What every Gantry daemon does around its main loop: waiting for the stop
// signals, finding its helper binaries, and its pid file.
#pragma once

#include <signal.h>

#include <string>

#include "absl/status/status.h"

namespace gantry {

// Blocks SIGTERM and SIGINT in the calling thread and the threads it starts
// afterwards, so that only WaitForStopSignal receives them.
sigset_t BlockStopSignals();
int WaitForStopSignal(const sigset_t& signals);

// A helper binary installed beside the running executable (as contd-shim and
// ocirun are, by `cmake --install` and the .deb), else `name` for a PATH
// lookup.
std::string BesideSelf(const std::string& name);

// Writes the calling process's pid to `path`; refuses when the file names a
// process that is still alive (another daemon on the same state).
absl::Status WritePidFile(const std::string& path);

}  // namespace gantry
