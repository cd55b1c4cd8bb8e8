#include "engined/server/listen_address.h"

#include <arpa/inet.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace gantry::engined {

bool ListenAddress::IsLoopback() const {
  if (kind != Kind::kTcp) return false;
  in_addr v4;
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return host == "::1";
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text, bool tls) {
  ListenAddress address;
  address.text = std::string(text);
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "unix://")) {
    if (rest.empty() || rest.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("-H ", text, ": expected an absolute path after unix://"));
    }
    address.kind = ListenAddress::Kind::kUnix;
    address.path = std::string(rest);
    return address;
  }
  if (absl::ConsumePrefix(&rest, "tcp://")) {
    address.kind = ListenAddress::Kind::kTcp;
    absl::ConsumeSuffix(&rest, "/");
    absl::string_view host = rest;
    absl::string_view port;
    if (absl::ConsumePrefix(&host, "[")) {  // [::1]:2376
      size_t close = host.find(']');
      if (close == host.npos) {
        return absl::InvalidArgumentError(absl::StrCat("-H ", text, ": unterminated [IPv6] host"));
      }
      port = host.substr(close + 1);
      host = host.substr(0, close);
      if (!port.empty() && !absl::ConsumePrefix(&port, ":")) {
        return absl::InvalidArgumentError(absl::StrCat("-H ", text, ": expected :port after ]"));
      }
    } else if (size_t colon = host.rfind(':'); colon != host.npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    address.host = host.empty() || host == "0.0.0.0" ? "0.0.0.0" : std::string(host);
    if (port.empty()) {
      address.port = tls ? 2376 : 2375;
    } else if (uint32_t value; absl::SimpleAtoi(port, &value) && value > 0 && value < 65536) {
      address.port = static_cast<uint16_t>(value);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("-H ", text, ": invalid port \"", port, "\""));
    }
    in_addr v4;
    in6_addr v6;
    if (::inet_pton(AF_INET, address.host.c_str(), &v4) != 1 &&
        ::inet_pton(AF_INET6, address.host.c_str(), &v6) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("-H ", text, ": host must be an IP address, not \"", address.host, "\""));
    }
    return address;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("-H ", text, ": unsupported address; expected unix:///path or tcp://host:port"));
}

}  // namespace gantry::engined
