// A container's filesystem as `docker cp` sees it: the running container's
// mount namespace (/proc/PID/root, its volumes included) or, when stopped,
// its snapshot mounted for the duration; paths resolved inside it, never
// outside (openat2 RESOLVE_IN_ROOT). Tar out (GET /archive) and in (PUT).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace gantry::engined {

class ContainerFs {
 public:
  // `root` is a directory fd of the container's "/"; `mountpoint`, when not
  // empty, is unmounted and removed when this goes away.
  ContainerFs(UniqueFd root, std::string mountpoint)
      : root_(std::move(root)), mountpoint_(std::move(mountpoint)) {}
  ~ContainerFs();
  ContainerFs(const ContainerFs&) = delete;
  ContainerFs& operator=(const ContainerFs&) = delete;

  // Docker's X-Docker-Container-Path-Stat: {name, size, mode (Go FileMode
  // bits), mtime, linkTarget}. NOT_FOUND naming the path.
  absl::StatusOr<nlohmann::json> Stat(const std::string& path);
  // A tar of `path` (a file, or a directory and everything under it) whose
  // entries are named from the path's last element, as docker cp's; written
  // through `write` in pieces.
  absl::Status Archive(const std::string& path,
                       const std::function<absl::Status(absl::string_view)>& write);
  // Extracts the tar `data` into the directory `path`; entries that would
  // leave it fail the whole copy, naming the entry.
  absl::Status Extract(const std::string& path, absl::string_view data);
  // A directory fd of the container's "/" (user lookups).
  int root() const { return root_.get(); }
  // The directory at `path`, resolved inside the container (volume copy-up).
  absl::StatusOr<UniqueFd> OpenDirectory(const std::string& path);

 private:
  UniqueFd root_;
  std::string mountpoint_;
};

}  // namespace gantry::engined
