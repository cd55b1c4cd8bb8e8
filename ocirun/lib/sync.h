// The messages between ocirun and the container's init while the container is
// being created, over a SOCK_SEQPACKET socketpair (one message per datagram).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"

namespace ocirun {

enum class SyncMessage : char {
  kGo = 'g',              // runtime -> init: id maps written
  kCgroupJoined = 'j',    // runtime -> init: the init is in the container's cgroup
  kRunCreateHooks = 'h',  // init -> runtime: namespaces and mounts done, run prestart/createRuntime
  kHooksDone = 'd',       // runtime -> init: carry on to pivot_root
  kSeccompFd = 's',       // init -> runtime: the seccomp notify fd, for listenerPath
  kReady = 'r',           // init -> runtime: created, now blocked on the exec fifo
  kError = 'e',           // init -> runtime: followed by the error text
};

class SyncSocket {
 public:
  explicit SyncSocket(int fd) : fd_(fd) {}
  absl::Status Send(SyncMessage message, const std::string& text = "") const;
  absl::Status SendFd(SyncMessage message, int fd) const;
  // Waits for `expected`; an init error or a closed socket becomes the error.
  absl::Status Expect(SyncMessage expected) const;
  // Same, for a message carrying a descriptor.
  absl::StatusOr<gantry::UniqueFd> ExpectFd(SyncMessage expected) const;
  int fd() const { return fd_; }

 private:
  absl::StatusOr<gantry::ReceivedFd> Receive(SyncMessage expected) const;
  int fd_;
};

}  // namespace ocirun
