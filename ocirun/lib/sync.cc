#include "ocirun/lib/sync.h"

#include <sys/socket.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace ocirun {

absl::Status SyncSocket::Send(SyncMessage message, const std::string& text) const {
  std::string buf(1, static_cast<char>(message));
  buf += text;
  if (::send(fd_, buf.data(), buf.size(), MSG_NOSIGNAL) < 0)
    return gantry::LastErrno("sync with container init");
  return absl::OkStatus();
}

absl::Status SyncSocket::Expect(SyncMessage expected) const {
  char buf[4096];
  ssize_t n;
  do {
    n = ::recv(fd_, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return gantry::LastErrno("sync with container init");
  if (n == 0) return absl::AbortedError("container init exited during setup");
  auto got = static_cast<SyncMessage>(buf[0]);
  if (got == SyncMessage::kError)
    return absl::FailedPreconditionError(std::string(buf + 1, static_cast<size_t>(n - 1)));
  if (got != expected)
    return absl::InternalError(absl::StrCat("sync with container init: unexpected message '",
                                            std::string(1, buf[0]), "'"));
  return absl::OkStatus();
}

}  // namespace ocirun
