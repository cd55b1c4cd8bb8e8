// The ocirun command line: runc's commands and flags over libocirun. Each
// Register* adds one group of subcommands; handlers only parse, call, print.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "ocirun/lib/container.h"

namespace ocirun::cli {

// Set by a subcommand's callback; main() runs it after parsing, so errors
// and exit codes are handled in one place.
struct Invocation {
  GlobalOptions global;
  std::function<absl::StatusOr<int>()> action;
};

// Waits for `child`, forwarding the signals we receive to it; returns its
// exit code (128+N when killed by signal N), as runc does for run and exec.
int WaitForwardingSignals(pid_t child);

void RegisterExec(CLI::App& app, Invocation& inv);       // exec
void RegisterLifecycle(CLI::App& app, Invocation& inv);  // create, start, run, delete, kill
void RegisterQueries(CLI::App& app, Invocation& inv);    // state, list, ps, events
void RegisterResources(CLI::App& app, Invocation& inv);  // pause, resume, update
void RegisterSpec(CLI::App& app, Invocation& inv);       // spec, features

}  // namespace ocirun::cli
