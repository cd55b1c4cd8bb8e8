#include "cli/client/ssh_dialer.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

// What may stand in the remote command line unquoted.
bool IsPlainPath(absl::string_view path) {
  for (char c : path) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        absl::string_view("/._-+").find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<SshAddress> ParseSshAddress(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "ssh://")) {
    return absl::InvalidArgumentError(absl::StrCat("invalid ssh host \"", url, "\""));
  }
  SshAddress address;
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    address.socket_path = std::string(rest.substr(slash));
    rest = rest.substr(0, slash);
    if (address.socket_path == "/") address.socket_path.clear();
  }
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    address.user = std::string(rest.substr(0, at));
    rest = rest.substr(at + 1);
  }
  if (size_t colon = rest.rfind(':'); colon != absl::string_view::npos && rest.back() != ']') {
    address.port = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  }
  address.host = std::string(absl::StripPrefix(absl::StripSuffix(rest, "]"), "["));
  if (address.host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid ssh host \"", url, "\": no host name"));
  }
  if (!IsPlainPath(address.socket_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ssh host \"", url, "\": unsupported characters in the socket path"));
  }
  return address;
}

std::vector<std::string> SshCommand(const SshAddress& address,
                                    const std::vector<std::string>& options) {
  // As docker's connection helper: a timeout, no pseudo-terminal.
  std::vector<std::string> argv = {"ssh", "-o", "ConnectTimeout=30", "-T"};
  argv.insert(argv.end(), options.begin(), options.end());
  if (!address.user.empty()) argv.insert(argv.end(), {"-l", address.user});
  if (!address.port.empty()) argv.insert(argv.end(), {"-p", address.port});
  argv.insert(argv.end(), {"--", address.host, "gantry"});
  if (!address.socket_path.empty()) {
    argv.insert(argv.end(), {"-H", absl::StrCat("unix://", address.socket_path)});
  }
  argv.insert(argv.end(), {"system", "dial-stdio"});
  return argv;
}

absl::StatusOr<UniqueFd> DialSsh(const SshAddress& address) {
  std::vector<std::string> options;
  if (const char* extra = ::getenv("GANTRY_SSH_OPTS"); extra != nullptr) {
    options = absl::StrSplit(extra, ' ', absl::SkipEmpty());
  }
  const std::vector<std::string> argv = SshCommand(address, options);
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
    return LastErrno("socketpair for ssh");
  }
  UniqueFd ours(ends[0]), theirs(ends[1]);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  // Forked twice so that ssh, which ends by itself once we close our end,
  // is nobody's zombie.
  const pid_t child = ::fork();
  if (child < 0) return LastErrno("fork for ssh");
  if (child == 0) {
    if (::fork() != 0) ::_exit(0);
    ::dup2(theirs.get(), STDIN_FILENO);
    ::dup2(theirs.get(), STDOUT_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return ours;
}

}  // namespace gantry::cli
