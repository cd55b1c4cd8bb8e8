// The addresses given with -H, as dockerd reads them: unix:///path and
// tcp://host:port (port 2375 by default, 2376 with TLS).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::engined {

struct ListenAddress {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;  // unix
  std::string host;  // tcp: an IP address ("" means all)
  uint16_t port = 0;
  std::string text;  // as given, for messages

  // True for 127.0.0.0/8 and ::1: only this machine reaches it.
  bool IsLoopback() const;
};

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text, bool tls);

}  // namespace gantry::engined
