#include "common/unique_fd.h"

#include <unistd.h>

namespace gantry {

void UniqueFd::Reset(int fd) {
  // close(2) must not be retried on EINTR on Linux: the fd is gone either way.
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

}  // namespace gantry
