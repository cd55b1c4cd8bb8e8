// Unix-domain socket helpers: connecting by path and passing descriptors
// with SCM_RIGHTS (runc's --console-socket protocol, shim handovers).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace gantry {

absl::StatusOr<UniqueFd> ConnectUnixSocket(const std::string& path, int type = 1 /*SOCK_STREAM*/);
// Listens on `path` (replacing a stale socket) with the given mode.
absl::StatusOr<UniqueFd> ListenUnixSocket(const std::string& path, unsigned mode = 0600);

// Sends `fd` with `payload` as the message body (runc sends the pty's name).
absl::Status SendFd(int socket, int fd, const std::string& payload);
struct ReceivedFd {
  UniqueFd fd;  // invalid when the message carried no descriptor
  std::string payload;
};
// Receives one message; a closed socket is an error.
absl::StatusOr<ReceivedFd> RecvFd(int socket);

}  // namespace gantry
