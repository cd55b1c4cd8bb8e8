#include "contd/registry/url.h"

#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gantry::registry {

absl::StatusOr<Url> Url::Parse(absl::string_view text) {
  Url url;
  size_t sep = text.find("://");
  if (sep == absl::string_view::npos)
    return absl::InvalidArgumentError(absl::StrCat("URL \"", text, "\": missing scheme"));
  url.scheme = std::string(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https")
    return absl::InvalidArgumentError(
        absl::StrCat("URL \"", text, "\": unsupported scheme \"", url.scheme, "\""));
  absl::string_view rest = text.substr(sep + 3);
  size_t path_start = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, path_start);
  url.target = path_start == absl::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (url.target.front() == '?') url.target.insert(0, "/");
  if (size_t at = authority.rfind('@'); at != absl::string_view::npos)
    authority.remove_prefix(at + 1);  // user info is never used
  absl::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos)
      return absl::InvalidArgumentError(absl::StrCat("URL \"", text, "\": unclosed '['"));
    url.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    url.host = std::string(authority.substr(0, colon));
    port = authority.substr(colon + 1);
  } else {
    url.host = std::string(authority);
  }
  if (url.host.empty())
    return absl::InvalidArgumentError(absl::StrCat("URL \"", text, "\": missing host"));
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return absl::InvalidArgumentError(absl::StrCat("URL \"", text, "\": invalid port"));
  url.port = port.empty() ? (url.scheme == "https" ? "443" : "80") : std::string(port);
  return url;
}

absl::StatusOr<Url> Url::Resolve(absl::string_view location) const {
  if (absl::StrContains(location, "://")) return Parse(location);
  if (absl::StartsWith(location, "//")) return Parse(absl::StrCat(scheme, ":", location));
  Url url = *this;
  if (absl::StartsWith(location, "/")) {
    url.target = std::string(location);
  } else {
    absl::string_view path = target;
    path = path.substr(0, path.find('?'));
    url.target = absl::StrCat(path.substr(0, path.rfind('/') + 1), location);
  }
  return url;
}

std::string Url::HostPort() const {
  std::string h = absl::StrContains(host, ':') ? absl::StrCat("[", host, "]") : host;
  return absl::StrCat(h, ":", port);
}

std::string Url::str() const { return absl::StrCat(scheme, "://", HostPort(), target); }

void Url::AddQuery(absl::string_view name, absl::string_view value) {
  absl::StrAppend(&target, absl::StrContains(target, '?') ? "&" : "?", name, "=",
                  PercentEncode(value));
}

std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace gantry::registry
