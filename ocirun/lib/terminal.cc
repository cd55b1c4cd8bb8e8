#include "ocirun/lib/terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"

namespace ocirun {

absl::Status SetupConsole(int console_socket, const std::optional<ConsoleSize>& size) {
  gantry::UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return gantry::LastErrno("console: open /dev/ptmx");
  if (::unlockpt(master.get()) != 0) return gantry::LastErrno("console: unlockpt");
  char name[128];
  if (::ptsname_r(master.get(), name, sizeof name) != 0)
    return gantry::LastErrno("console: ptsname");
  gantry::UniqueFd slave(::open(name, O_RDWR | O_NOCTTY));
  if (!slave) return gantry::LastErrno(absl::StrCat("console: open ", name));
  if (size) {
    struct winsize ws {};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    ::ioctl(slave.get(), TIOCSWINSZ, &ws);
  }
  GANTRY_RETURN_IF_ERROR(
      gantry::Annotate(gantry::SendFd(console_socket, master.get(), name), "console socket"));
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return gantry::LastErrno("console: TIOCSCTTY");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave.get(), fd) < 0) return gantry::LastErrno("console: dup2");
  return absl::OkStatus();
}

}  // namespace ocirun
