// One process's stdio as the shim relays it. The container writes into pipes
// (or a pty) that only the shim reads, so it never blocks on a daemon that is
// gone: its output goes to the json-file log and, when someone is attached,
// to the stdout/stderr FIFOs; the stdin FIFO is copied into the process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/json_log.h"
#include "common/runtime_cli.h"
#include "common/unique_fd.h"
#include "shim/event_loop.h"

namespace gantry::shim {

struct StdioPaths {
  // FIFOs (created when missing) or regular files; empty = none.
  std::string in;
  std::string out;
  std::string err;
  bool terminal = false;
};

class ProcessStdio {
 public:
  // Opens the attach paths and makes the pipes the process will use. `log`
  // (may be null; exec processes have none) must outlive this object.
  static absl::StatusOr<std::unique_ptr<ProcessStdio>> Open(EventLoop& loop,
                                                            const StdioPaths& paths,
                                                            JsonLogWriter* log);
  ~ProcessStdio();

  // The descriptors to hand the runtime (no pipes for a terminal process:
  // its stdio is the pty the runtime makes).
  RuntimeStdio ProcessSide() const;
  // Closes the shim's copies of the process-side ends once the runtime has
  // passed them on, so that EOF arrives when the process exits.
  void CloseProcessSide();
  // Relays through the pty master received on the console socket.
  absl::Status AttachConsole(UniqueFd master);

  // The process reads end-of-file on stdin (not possible with a terminal:
  // there the stdin FIFO just stops being read).
  void CloseStdin();
  absl::Status Resize(uint32_t width, uint32_t height);
  // Copies what is already buffered, so output written just before an exit
  // is logged before the exit is reported.
  void Drain();

 private:
  class OutputRelay;
  class InputRelay;

  explicit ProcessStdio(EventLoop& loop);
  absl::Status StartInput(int target);

  EventLoop& loop_;
  JsonLogWriter* log_ = nullptr;
  bool terminal_ = false;
  UniqueFd stdin_fifo_;
  UniqueFd stdout_sink_;
  UniqueFd stderr_sink_;
  // Process-side pipe ends, until CloseProcessSide.
  UniqueFd process_in_;
  UniqueFd process_out_;
  UniqueFd process_err_;
  UniqueFd console_;
  std::unique_ptr<OutputRelay> stdout_relay_;
  std::unique_ptr<OutputRelay> stderr_relay_;
  std::unique_ptr<InputRelay> stdin_relay_;
};

}  // namespace gantry::shim
