#include "common/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry {
namespace {
absl::StatusOr<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}
}  // namespace

absl::StatusOr<UniqueFd> ConnectUnixSocket(const std::string& path, int type) {
  GANTRY_ASSIGN_OR_RETURN(sockaddr_un addr, Address(path));
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) return LastErrno("socket");
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return LastErrno(absl::StrCat("connect ", path));
  return fd;
}

absl::StatusOr<UniqueFd> ListenUnixSocket(const std::string& path, unsigned mode) {
  GANTRY_ASSIGN_OR_RETURN(sockaddr_un addr, Address(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return LastErrno("socket");
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return LastErrno(absl::StrCat("bind ", path));
  if (::chmod(path.c_str(), mode) != 0) return LastErrno(absl::StrCat("chmod ", path));
  if (::listen(fd.get(), 16) != 0) return LastErrno(absl::StrCat("listen ", path));
  return fd;
}

absl::Status SendFd(int socket, int fd, const std::string& payload) {
  std::string body = payload.empty() ? std::string(1, '\0') : payload;
  iovec iov{body.data(), body.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  ssize_t n;
  do {
    n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return LastErrno("send descriptor");
  return absl::OkStatus();
}

absl::StatusOr<ReceivedFd> RecvFd(int socket) {
  char body[4096];
  iovec iov{body, sizeof body};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return LastErrno("receive descriptor");
  if (n == 0) return absl::AbortedError("receive descriptor: the peer closed the socket");
  ReceivedFd out{UniqueFd(), std::string(body, static_cast<size_t>(n))};
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
    int fd;
    std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
    out.fd.Reset(fd);
  }
  while (!out.payload.empty() && out.payload.back() == '\0') out.payload.pop_back();
  return out;
}

}  // namespace gantry
