// The messages between ocirun and the container's init while the container is
// being created, over a SOCK_SEQPACKET socketpair (one message per datagram).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ocirun {

enum class SyncMessage : char {
  kGo = 'g',             // runtime -> init: cgroup joined, id maps written
  kRunCreateHooks = 'h', // init -> runtime: namespaces and mounts done, run prestart/createRuntime
  kHooksDone = 'd',      // runtime -> init: carry on to pivot_root
  kReady = 'r',          // init -> runtime: created, now blocked on the exec fifo
  kError = 'e',          // init -> runtime: followed by the error text
};

class SyncSocket {
 public:
  explicit SyncSocket(int fd) : fd_(fd) {}
  absl::Status Send(SyncMessage message, const std::string& text = "") const;
  // Waits for `expected`; an init error or a closed socket becomes the error.
  absl::Status Expect(SyncMessage expected) const;
  int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace ocirun
