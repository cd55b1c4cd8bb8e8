// The user's terminal: whether a descriptor is one, its size, and raw mode
// for `run -it` (restored when the RawTerminal goes away).
#pragma once

#include <termios.h>

#include <optional>

namespace gantry::cli {

bool IsTerminal(int fd);

struct WindowSize {
  unsigned short rows = 0;
  unsigned short columns = 0;
};
std::optional<WindowSize> GetWindowSize(int fd);

class RawTerminal {
 public:
  // Puts `fd` in raw mode when it is a terminal; otherwise does nothing.
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  std::optional<struct termios> saved_;
};

}  // namespace gantry::cli
