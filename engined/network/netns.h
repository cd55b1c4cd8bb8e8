// Persistent network namespaces bound at a path (as `ip netns add` does, but
// anywhere, e.g. <exec-root>/netns/<id>), and running code inside one without
// ever moving the calling thread: each entry happens on a fresh thread that
// setns()es and ends, so a daemon's threads all stay in the host namespace.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace gantry::engined::network {

// Creates a new network namespace and binds it at `path` (an empty file is
// made there; parent directories are created). ALREADY_EXISTS when `path`
// exists. On error nothing is left at `path`.
absl::Status CreateNetworkNamespace(const std::string& path);

// Detaches the bind mount at `path` and removes the file. The namespace
// itself goes when nothing else holds it (processes, open fds). A missing
// path is fine, so startup can call it for whatever a crash left.
absl::Status RemoveNetworkNamespace(const std::string& path);

// An fd of the namespace at `path` (O_CLOEXEC), for setns() or for moving a
// link there (Netlink::MoveToNamespace).
absl::StatusOr<UniqueFd> OpenNetworkNamespace(const std::string& path);

// Runs `fn` on a new thread that has joined the namespace at `path`, waits
// for it and returns its status. The calling thread's namespace never
// changes. Anything `fn` opens (sockets, netlink, nft contexts) belongs to
// that namespace.
absl::Status RunInNetworkNamespace(const std::string& path,
                                   const std::function<absl::Status()>& fn);

// A socket(domain, type | SOCK_CLOEXEC, protocol) created inside the
// namespace at `path`: it stays there however it is used afterwards (an
// embedded DNS server listening inside a container, a test client).
absl::StatusOr<UniqueFd> OpenSocketInNamespace(const std::string& path, int domain, int type,
                                               int protocol = 0);

// Owns a namespace made by CreateNetworkNamespace: removes it on destruction.
class ScopedNetworkNamespace {
 public:
  static absl::StatusOr<ScopedNetworkNamespace> Create(const std::string& path);

  ScopedNetworkNamespace(ScopedNetworkNamespace&& other) noexcept
      : path_(std::exchange(other.path_, "")) {}
  ScopedNetworkNamespace& operator=(ScopedNetworkNamespace&& other) noexcept;
  ScopedNetworkNamespace(const ScopedNetworkNamespace&) = delete;
  ScopedNetworkNamespace& operator=(const ScopedNetworkNamespace&) = delete;
  ~ScopedNetworkNamespace();

  const std::string& path() const { return path_; }
  // Removes it now, reporting errors (the destructor only logs them).
  absl::Status Remove();

 private:
  explicit ScopedNetworkNamespace(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace gantry::engined::network
