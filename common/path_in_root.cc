#include "common/path_in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/errors.h"

namespace gantry {

absl::StatusOr<UniqueFd> OpenInRoot(int root, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  // Relative to root; a view, not edits of a copy (GCC 12's -O2 -Wrestrict
  // misreads erase-then-assign on std::string).
  absl::string_view relative = path;
  while (absl::ConsumePrefix(&relative, "/")) {
  }
  const std::string rel = relative.empty() ? "." : std::string(relative);
  int fd;
  do {
    fd = static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);
  if (fd < 0) return LastErrno(absl::StrCat("open ", path, " in rootfs"));
  return UniqueFd(fd);
}

}  // namespace gantry
