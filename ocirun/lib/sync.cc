#include "ocirun/lib/sync.h"

#include <sys/socket.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unix_socket.h"

namespace ocirun {

absl::Status SyncSocket::Send(SyncMessage message, const std::string& text) const {
  std::string buf(1, static_cast<char>(message));
  buf += text;
  if (::send(fd_, buf.data(), buf.size(), MSG_NOSIGNAL) < 0)
    return gantry::LastErrno("sync with container init");
  return absl::OkStatus();
}

absl::Status SyncSocket::SendFd(SyncMessage message, int fd) const {
  return gantry::Annotate(gantry::SendFd(fd_, fd, std::string(1, static_cast<char>(message))),
                          "sync with container init");
}

absl::StatusOr<gantry::ReceivedFd> SyncSocket::Receive(SyncMessage expected) const {
  auto received = gantry::RecvFd(fd_);
  if (!received.ok()) {
    if (received.status().code() == absl::StatusCode::kAborted)
      return absl::AbortedError("container init exited during setup");
    return gantry::Annotate(received.status(), "sync with container init");
  }
  const std::string& body = received->payload;
  if (body.empty()) return absl::InternalError("sync with container init: empty message");
  auto got = static_cast<SyncMessage>(body[0]);
  if (got == SyncMessage::kError) return absl::FailedPreconditionError(body.substr(1));
  if (got != expected)
    return absl::InternalError(
        absl::StrCat("sync with container init: unexpected message '", body.substr(0, 1), "'"));
  return received;
}

absl::Status SyncSocket::Expect(SyncMessage expected) const { return Receive(expected).status(); }

absl::StatusOr<gantry::UniqueFd> SyncSocket::ExpectFd(SyncMessage expected) const {
  GANTRY_ASSIGN_OR_RETURN(gantry::ReceivedFd received, Receive(expected));
  if (!received.fd) return absl::InternalError("sync with container init: descriptor missing");
  return std::move(received.fd);
}

}  // namespace ocirun
