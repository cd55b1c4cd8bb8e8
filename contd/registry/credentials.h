// Registry credentials from a docker-style config.json:
//   {"auths": {"myhost:5000": {"auth": base64("user:password")}}}
// Keys may also be URLs ("https://index.docker.io/v1/"), as `docker login`
// writes for Docker Hub.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::registry {

struct Credentials {
  std::string username;
  std::string password;
};

class CredentialStore {
 public:
  // A missing file is no credentials (as for Docker); a malformed one is an
  // error naming the file and field.
  static absl::StatusOr<CredentialStore> Load(const std::string& path);
  static absl::StatusOr<CredentialStore> Parse(absl::string_view json, absl::string_view what);

  // Credentials for a registry domain ("docker.io", "127.0.0.1:5000").
  std::optional<Credentials> Find(absl::string_view domain) const;

 private:
  std::map<std::string, Credentials> by_domain_;
};

}  // namespace gantry::registry
