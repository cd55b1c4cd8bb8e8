#include "contd/registry/reference.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"

namespace gantry::registry {
namespace {

// Docker's limit on "domain/path".
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid reference \"", text, "\": ", why));
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool ValidComponent(absl::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    absl::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == absl::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

// host[:port], host being DNS labels or an IPv4 address (Docker also takes
// [IPv6]; so do we, loosely).
bool ValidDomain(absl::string_view d) {
  if (d.empty()) return false;
  absl::string_view host = d;
  if (size_t colon = d.rfind(':'); colon != absl::string_view::npos && d.back() != ']') {
    absl::string_view port = d.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port)
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    host = d.substr(0, colon);
  }
  if (host.empty()) return false;
  if (host.front() == '[') return host.back() == ']' && host.size() > 2;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

bool ValidTag(absl::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(t.front())) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

}  // namespace

absl::StatusOr<Reference> Reference::Parse(absl::string_view text) {
  if (text.empty()) return Invalid(text, "empty reference");
  Reference ref;
  absl::string_view rest = text;

  if (size_t at = rest.find('@'); at != absl::string_view::npos) {
    auto digest = Digest::Parse(rest.substr(at + 1));
    if (!digest.ok()) return Invalid(text, digest.status().message());
    ref.digest_ = *std::move(digest);
    rest = rest.substr(0, at);
  }
  // A tag follows the last ':' that comes after the last '/' (a ':' before
  // it is a port).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != absl::string_view::npos && (slash == absl::string_view::npos || colon > slash)) {
    absl::string_view tag = rest.substr(colon + 1);
    if (!ValidTag(tag)) return Invalid(text, absl::StrCat("invalid tag \"", tag, "\""));
    ref.tag_ = std::string(tag);
    rest = rest.substr(0, colon);
  }

  // Docker's rule: the first component is a domain when it has a '.' or a
  // ':', is "localhost", or has upper case letters (which paths cannot have).
  absl::string_view path = rest;
  size_t first_slash = rest.find('/');
  if (first_slash != absl::string_view::npos) {
    absl::string_view first = rest.substr(0, first_slash);
    bool has_upper = std::any_of(first.begin(), first.end(), [](char c) {
      return std::isupper(static_cast<unsigned char>(c));
    });
    if (absl::StrContains(first, '.') || absl::StrContains(first, ':') || first == "localhost" ||
        has_upper) {
      if (!ValidDomain(first)) return Invalid(text, absl::StrCat("invalid domain \"", first, "\""));
      ref.domain_ = std::string(first);
      path = rest.substr(first_slash + 1);
    }
  }
  if (ref.domain_.empty() || ref.domain_ == "index.docker.io") ref.domain_ = kDefaultDomain;
  if (path.empty()) return Invalid(text, "empty repository name");
  for (absl::string_view component : absl::StrSplit(path, '/')) {
    if (!ValidComponent(component)) {
      bool upper = std::any_of(component.begin(), component.end(),
                               [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
      return Invalid(text, upper ? "repository name must be lowercase"
                                 : absl::StrCat("invalid path component \"", component, "\""));
    }
  }
  ref.path_ = std::string(path);
  if (ref.domain_ == kDefaultDomain && !absl::StrContains(ref.path_, '/'))
    ref.path_ = absl::StrCat("library/", ref.path_);
  if (ref.Name().size() > kMaxNameLength)
    return Invalid(text,
                   absl::StrCat("repository name longer than ", kMaxNameLength, " characters"));
  return ref;
}

std::string Reference::Object() const {
  if (digest_) return digest_->str();
  return tag_.empty() ? std::string(kDefaultTag) : tag_;
}

std::string Reference::String() const {
  std::string s = Name();
  if (!tag_.empty()) absl::StrAppend(&s, ":", tag_);
  if (digest_) absl::StrAppend(&s, "@", digest_->str());
  return s;
}

std::string Reference::FamiliarString() const {
  const std::string full = String();
  if (domain_ != kDefaultDomain) return full;
  absl::string_view rest = absl::string_view(full).substr(domain_.size() + 1);
  if (absl::StartsWith(rest, "library/") && !absl::StrContains(path_.substr(8), '/')) {
    rest.remove_prefix(8);
  }
  return std::string(rest);
}

Reference Reference::WithTag(std::string tag) const {
  Reference r = *this;
  r.tag_ = std::move(tag);
  r.digest_.reset();
  return r;
}

Reference Reference::WithDigest(const Digest& digest) const {
  Reference r = *this;
  r.tag_.clear();
  r.digest_ = digest;
  return r;
}

}  // namespace gantry::registry
