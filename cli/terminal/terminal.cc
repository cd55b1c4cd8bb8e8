#include "cli/terminal/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

namespace gantry::cli {

bool IsTerminal(int fd) { return ::isatty(fd) == 1; }

std::optional<WindowSize> GetWindowSize(int fd) {
  struct winsize size = {};
  if (::ioctl(fd, TIOCGWINSZ, &size) != 0) return std::nullopt;
  return WindowSize{size.ws_row, size.ws_col};
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  struct termios current;
  if (!IsTerminal(fd) || ::tcgetattr(fd, &current) != 0) return;
  saved_ = current;
  ::cfmakeraw(&current);
  // Output post-processing stays as docker leaves it: the container's own
  // pty already turns \n into \r\n.
  ::tcsetattr(fd, TCSADRAIN, &current);
}

RawTerminal::~RawTerminal() {
  if (saved_) ::tcsetattr(fd_, TCSADRAIN, &*saved_);
}

}  // namespace gantry::cli
