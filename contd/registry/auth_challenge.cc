#include "contd/registry/auth_challenge.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace gantry::registry {

absl::StatusOr<AuthChallenge> ParseAuthChallenge(absl::string_view header) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("WWW-Authenticate \"", header, "\": ", why));
  };
  absl::string_view s = absl::StripAsciiWhitespace(header);
  size_t space = s.find(' ');
  AuthChallenge challenge;
  challenge.scheme = absl::AsciiStrToLower(s.substr(0, space));
  if (challenge.scheme.empty()) return bad("no scheme");
  if (space == absl::string_view::npos) return challenge;
  s.remove_prefix(space + 1);
  while (true) {
    s = absl::StripLeadingAsciiWhitespace(s);
    if (s.empty()) break;
    size_t eq = s.find('=');
    if (eq == absl::string_view::npos) return bad("parameter without '='");
    std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(s.substr(0, eq)));
    s.remove_prefix(eq + 1);
    std::string value;
    if (!s.empty() && s.front() == '"') {
      size_t i = 1;
      for (; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i]);
      }
      if (i >= s.size()) return bad("unterminated quoted string");
      s.remove_prefix(i + 1);
    } else {
      size_t end = s.find(',');
      value = std::string(absl::StripAsciiWhitespace(s.substr(0, end)));
      s.remove_prefix(end == absl::string_view::npos ? s.size() : end);
    }
    challenge.params[key] = value;
    s = absl::StripLeadingAsciiWhitespace(s);
    if (!s.empty() && s.front() == ',') s.remove_prefix(1);
  }
  return challenge;
}

}  // namespace gantry::registry
