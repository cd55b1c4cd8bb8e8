// The ocirun command line: runc's commands and flags over libocirun. Each
// Register* adds one group of subcommands; handlers only parse, call, print.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "common/unique_fd.h"
#include "ocirun/lib/container.h"

namespace ocirun::cli {

// Set by a subcommand's callback; main() runs it after parsing, so errors
// and exit codes are handled in one place.
struct Invocation {
  GlobalOptions global;
  std::function<absl::StatusOr<int>()> action;
  // Set by commands that put a process of ours into a container (create,
  // run, exec): when it says so, main() first re-executes from an unwritable
  // view of the binary (sealed_exe.h).
  std::function<bool()> needs_unwritable_exe;
};

// What `run` and `exec` do in the foreground: forward our signals to the
// child, relay its pty (if it has one) to our stdio, and return its exit code
// (128+N when killed by signal N), as runc does.
class Relay {
 public:
  // A socketpair standing in for --console-socket.
  static absl::StatusOr<Relay> Make();
  int child_end() const { return child_end_.get(); }
  // Waits for `child`; with `terminal`, first receives its pty master.
  absl::StatusOr<int> Run(pid_t child, bool terminal);

 private:
  gantry::UniqueFd our_end_, child_end_;
};

void RegisterExec(CLI::App& app, Invocation& inv);       // exec
void RegisterLifecycle(CLI::App& app, Invocation& inv);  // create, start, run, delete, kill
void RegisterQueries(CLI::App& app, Invocation& inv);    // state, list, ps, events
void RegisterResources(CLI::App& app, Invocation& inv);  // pause, resume, update
void RegisterSpec(CLI::App& app, Invocation& inv);       // spec, features

}  // namespace ocirun::cli
