// Runs an OCI runtime (ocirun, or any runc-compatible binary) by its
// command line, turning its JSON error log into errors (contd-shim drives
// its container so; contd cleans up after a shim that died).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gantry {

// The descriptors a runtime call gets as its stdin, stdout and stderr: the
// container inherits them from `create` and `exec`. -1 means /dev/null.
struct RuntimeStdio {
  int in = -1;
  int out = -1;
  int err = -1;
};

class OciRuntime {
 public:
  // `root` is the runtime's --root (one per contd namespace); `log_path`
  // receives its JSON log, whose error lines become the calls' errors.
  OciRuntime(std::string binary, std::string root, std::string log_path)
      : binary_(std::move(binary)), root_(std::move(root)), log_path_(std::move(log_path)) {}

  // Runs `binary --root R --log L --log-format json ARGS...` to completion.
  // A non-zero exit is an error carrying the runtime's last logged error.
  absl::Status Run(const std::vector<std::string>& args, const RuntimeStdio& stdio = {}) const;
  // Same, returning what the runtime printed on stdout (state, ps, events).
  absl::StatusOr<std::string> Output(const std::vector<std::string>& args) const;

  const std::string& binary() const { return binary_; }

 private:
  absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& args,
                              const RuntimeStdio& stdio) const;
  absl::Status Wait(pid_t pid, const std::vector<std::string>& args, off_t log_offset) const;

  std::string binary_;
  std::string root_;
  std::string log_path_;
};

}  // namespace gantry
