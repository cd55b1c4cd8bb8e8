// The container's init: the child ocirun clones into the new namespaces. It
// sets up the container from inside, reports to the runtime over the sync
// socket, waits on the exec fifo for `start`, and execs the user's program.
#pragma once

#include <map>
#include <string>

#include "ocirun/lib/seccomp.h"
#include "ocirun/lib/spec.h"

namespace ocirun {

struct InitConfig {
  const Spec* spec = nullptr;
  std::string rootfs;  // absolute
  int sync_fd = -1;
  int exec_fifo_fd = -1;  // O_PATH; reopened for writing once set up
  int console_socket_fd = -1;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  const SeccompFilter* seccomp = nullptr;  // compiled by the runtime before clone
  std::map<std::string, std::string> cgroup_paths;
};

// Never returns: execs the user's program or exits 1 after sending the error.
[[noreturn]] void RunContainerInit(const InitConfig& config);

}  // namespace ocirun
