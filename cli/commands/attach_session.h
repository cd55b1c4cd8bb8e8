// A terminal attached to a container (run, start -a, attach): its output
// demultiplexed to stdout/stderr (raw with a TTY), the user's stdin sent
// with a half-close at its end, detach keys (ctrl-p ctrl-q) with a TTY, and
// the window size kept in step on SIGWINCH, and the signals gantry gets
// passed on to the container (docker's --sig-proxy).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cli/client/engine_client.h"
#include "cli/client/stdcopy.h"

namespace gantry::cli {

struct AttachOptions {
  bool stdin = false;  // send our stdin
  bool tty = false;    // the container has a TTY: raw bytes, detach keys
  bool stdout = true;
  bool stderr = true;
  // An exec's session: its window size goes to /exec/{id}/resize, and
  // signals are not passed on (docker exec has no --sig-proxy).
  bool exec = false;
};

class AttachSession {
 public:
  // Attaches (before the container starts, so no output is missed).
  static absl::StatusOr<std::unique_ptr<AttachSession>> Open(EngineClient& client,
                                                             const std::string& id,
                                                             AttachOptions options);
  // Starts exec `exec_id` on a hijacked connection (POST /exec/{id}/start).
  static absl::StatusOr<std::unique_ptr<AttachSession>> OpenExec(EngineClient& client,
                                                                 const std::string& exec_id,
                                                                 AttachOptions options);
  ~AttachSession();

  // Sends the window size now and on every SIGWINCH (a TTY on our stdout),
  // and SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 to the container. Call
  // once the container runs.
  void ForwardSignals();

  // Relays until the container's output ends; true when the user detached.
  bool Relay();

 private:
  struct Shared;
  AttachSession(EngineClient& client, std::string id, AttachOptions options,
                std::shared_ptr<Shared> shared, std::string buffered);
  void Output(absl::string_view data);

  EngineClient& client_;
  std::string id_;
  AttachOptions options_;
  std::shared_ptr<Shared> shared_;
  std::string buffered_;
  StdcopyDemuxer demuxer_;
};

// The answer of POST /containers/{id}/wait opened before the start: the
// container's exit code once it stops.
absl::StatusOr<int> ExitCodeFrom(ResponseStream& wait);

// The attached life of a container: attach, register the wait for
// `condition` (so a quick exit is not missed), `start` it (when given), pass
// signals on, relay until its output ends. Its exit code, or 0 when the
// user detached.
absl::StatusOr<int> AttachAndWait(EngineClient& client, const std::string& id,
                                  AttachOptions options, const std::string& condition,
                                  const std::function<absl::Status()>& start = nullptr);

// Writes all of `data` to `fd` (stdout/stderr of the CLI).
void WriteAll(int fd, absl::string_view data);

}  // namespace gantry::cli
