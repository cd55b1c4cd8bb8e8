// ssh://user@host[:port][/socket]: as the docker CLI does, the connection
// to engined is `ssh … -- host gantry system dial-stdio` run with a
// socketpair as its stdin and stdout, the remote gantry copying bytes to its
// local engined. Extra ssh options (a key, known-hosts handling) come from
// ~/.ssh/config, or from GANTRY_SSH_OPTS (split at spaces) when set.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace gantry::cli {

struct SshAddress {
  std::string user;  // empty: ssh's default
  std::string host;
  std::string port;         // empty: ssh's default
  std::string socket_path;  // engined's socket there; empty: the remote gantry's default
};

absl::StatusOr<SshAddress> ParseSshAddress(absl::string_view url);

// The ssh command line for `address`, `options` before the destination.
std::vector<std::string> SshCommand(const SshAddress& address,
                                    const std::vector<std::string>& options);

// Starts ssh (found on PATH) and returns our end of its stdin and stdout.
absl::StatusOr<UniqueFd> DialSsh(const SshAddress& address);

}  // namespace gantry::cli
