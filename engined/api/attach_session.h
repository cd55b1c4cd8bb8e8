// One hijacked attach or exec-start session: the process's output goes to
// the client (stdcopy frames, or raw for a terminal) and the client's input
// to the process, until the process has exited and its output is out.
#pragma once

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "engined/api/http_types.h"
#include "engined/containers/container_io.h"

namespace gantry::engined {

struct AttachSession {
  bool tty = false;
  bool stdin = false;
  bool stdout = true;
  bool stderr = true;
  // Registers the output sink and the end callback with the process's IO
  // (and, for exec start, starts the process).
  std::function<absl::Status(ContainerIo::Sink, std::function<void()>)> attach;
  std::function<absl::Status(absl::string_view)> write_stdin;
  // The client's input ended (it half-closed the connection).
  std::function<void()> stdin_ended;
};

// Runs the session on the hijacked connection until it ends.
void RunAttachSession(std::unique_ptr<Connection> connection, const AttachSession& session);

// Docker's stdcopy framing of one chunk: [stream, 0, 0, 0, size (big
// endian)] then the bytes.
std::string StdcopyFrame(int stream, absl::string_view data);

// Output of a process without a terminal is multiplexed; with one, raw.
std::string StreamContentType(bool tty, const HttpRequest& request);

}  // namespace gantry::engined
