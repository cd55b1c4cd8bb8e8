// Registry authentication: remembers each registry's WWW-Authenticate
// challenge and answers it — Basic with the stored credentials, or Bearer
// with a token fetched from the challenge's realm for the needed scopes
// (anonymously when there are no credentials). Tokens are cached per
// registry and scope set. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "contd/registry/auth_challenge.h"
#include "contd/registry/credentials.h"
#include "contd/registry/http_client.h"

namespace gantry::registry {

class Authorizer {
 public:
  Authorizer(const HttpClient& http, CredentialStore credentials)
      : http_(http), credentials_(std::move(credentials)) {}

  // The Authorization header for a request to `domain` needing `scopes`
  // ("repository:library/busybox:pull"), or "" when none is known yet.
  std::string HeaderFor(const std::string& domain, const std::vector<std::string>& scopes);

  // Learns the challenge of a 401 answer and gets what it asks for (a token),
  // so that a retried request carries a fresh HeaderFor(). Fails, naming the
  // registry, when it cannot be answered.
  absl::Status HandleChallenge(const std::string& domain, const std::vector<std::string>& scopes,
                               const std::string& www_authenticate);

 private:
  absl::StatusOr<std::string> FetchToken(const std::string& domain, const AuthChallenge& challenge,
                                         const std::vector<std::string>& scopes);

  const HttpClient& http_;
  const CredentialStore credentials_;
  std::mutex mu_;
  std::map<std::string, AuthChallenge> challenges_;  // by domain
  std::map<std::string, std::string> tokens_;        // by "domain scope scope..."
};

}  // namespace gantry::registry
