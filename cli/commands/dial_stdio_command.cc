// gantry system dial-stdio: the far end of `-H ssh://…`. Connects to the
// local engined (-H, GANTRY_HOST or the default socket) and copies stdin to
// it and its answers to stdout, passing each end-of-file on as a
// half-close; done when engined has closed its side.
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "cli/commands/command_context.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

// Reads what `from` has and writes it all to `to`; false at end of file.
absl::StatusOr<bool> Pump(int from, int to, const char* what) {
  char buffer[64 * 1024];
  ssize_t n;
  do {
    n = ::read(from, buffer, sizeof buffer);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return LastErrno(absl::StrCat("dial-stdio: reading ", what));
  if (n == 0) return false;
  for (ssize_t written = 0; written < n;) {
    const ssize_t w = ::send(to, buffer + written, size_t(n - written), MSG_NOSIGNAL);
    if (w < 0 && errno == ENOTSOCK) {
      const ssize_t plain = ::write(to, buffer + written, size_t(n - written));
      if (plain < 0 && errno == EINTR) continue;
      if (plain < 0) return LastErrno(absl::StrCat("dial-stdio: writing ", what));
      written += plain;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return LastErrno(absl::StrCat("dial-stdio: writing ", what));
    written += w;
  }
  return true;
}

absl::StatusOr<int> DialStdio(CommandContext& context) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd engine, context.client().Dial());
  bool stdin_open = true;
  for (;;) {
    struct pollfd fds[2] = {{engine.get(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (::poll(fds, stdin_open ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      return LastErrno("dial-stdio: poll");
    }
    if (fds[0].revents != 0) {
      GANTRY_ASSIGN_OR_RETURN(bool more, Pump(engine.get(), STDOUT_FILENO, "from engined"));
      if (!more) {
        // engined is done: whatever stdin still holds has no one to read it.
        ::close(STDOUT_FILENO);
        return 0;
      }
    }
    if (stdin_open && fds[1].revents != 0) {
      GANTRY_ASSIGN_OR_RETURN(stdin_open, Pump(STDIN_FILENO, engine.get(), "stdin"));
      if (!stdin_open) ::shutdown(engine.get(), SHUT_WR);
    }
  }
}

}  // namespace

void AddDialStdioCommand(CLI::App& app, CommandContext& context) {
  CLI::App* dial = app.add_subcommand(
      "dial-stdio", "Proxy the stdio stream to the daemon connection (for -H ssh://)");
  context.OnRun(dial, [&context] { return DialStdio(context); });
}

}  // namespace gantry::cli
