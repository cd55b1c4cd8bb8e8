#include "contd/registry/credentials.h"

#include <sys/stat.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/json_util.h"

namespace gantry::registry {
namespace {

// "https://index.docker.io/v1/" -> "index.docker.io" -> "docker.io".
std::string NormalizeKey(absl::string_view key) {
  if (size_t p = key.find("://"); p != absl::string_view::npos) key.remove_prefix(p + 3);
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == "registry-1.docker.io") return "docker.io";
  return std::string(key);
}

}  // namespace

absl::StatusOr<CredentialStore> CredentialStore::Load(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return CredentialStore();
  GANTRY_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(text, path);
}

absl::StatusOr<CredentialStore> CredentialStore::Parse(absl::string_view json,
                                                       absl::string_view what) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json doc, ParseJson(json, what));
  CredentialStore store;
  JsonReader root(doc, "");
  JsonReader auths = root.Object("auths");
  if (!root.ok()) return Annotate(root.status(), what);
  for (const auto& [key, entry] : auths.value().items()) {
    JsonReader r(entry, absl::StrCat("auths.", key));
    std::string auth, username, password;
    r.Optional("auth", auth).Optional("username", username).Optional("password", password);
    if (!r.ok()) return Annotate(r.status(), what);
    Credentials creds{username, password};
    if (!auth.empty()) {
      std::string decoded;
      size_t colon;
      if (!absl::Base64Unescape(auth, &decoded) || (colon = decoded.find(':')) == std::string::npos)
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": auths.", key, ".auth: expected base64 of \"username:password\""));
      creds = {decoded.substr(0, colon), decoded.substr(colon + 1)};
    }
    if (creds.username.empty() && creds.password.empty()) continue;  // e.g. credsStore entries
    store.by_domain_[NormalizeKey(key)] = std::move(creds);
  }
  return store;
}

std::optional<Credentials> CredentialStore::Find(absl::string_view domain) const {
  auto it = by_domain_.find(NormalizeKey(domain));
  if (it == by_domain_.end()) return std::nullopt;
  return it->second;
}

}  // namespace gantry::registry
