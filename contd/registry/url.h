// http(s) URLs as the registry client needs them: absolute ones, and
// Location headers resolved against the request's URL.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::registry {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // name or address; IPv6 without brackets
  std::string port;    // always set ("80"/"443" by default)
  std::string target;  // path and query, at least "/"

  static absl::StatusOr<Url> Parse(absl::string_view text);
  // A Location header: absolute URL, "//host/path", "/path" or relative path.
  absl::StatusOr<Url> Resolve(absl::string_view location) const;
  // "host:port" (with brackets for IPv6), as Host headers and certs.d use.
  std::string HostPort() const;
  std::string str() const;
  // Appends "name=value" (value percent-encoded) to the query.
  void AddQuery(absl::string_view name, absl::string_view value);
};

std::string PercentEncode(absl::string_view text);

}  // namespace gantry::registry
