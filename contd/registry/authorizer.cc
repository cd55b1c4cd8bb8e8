#include "contd/registry/authorizer.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "common/json_util.h"

namespace gantry::registry {
namespace {

constexpr size_t kMaxTokenResponse = 1 << 20;

std::string TokenKey(const std::string& domain, const std::vector<std::string>& scopes) {
  return absl::StrCat(domain, " ", absl::StrJoin(scopes, " "));
}

std::string BasicHeader(const Credentials& c) {
  return absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(c.username, ":", c.password)));
}

}  // namespace

std::string Authorizer::HeaderFor(const std::string& domain,
                                  const std::vector<std::string>& scopes) {
  std::lock_guard lock(mu_);
  auto challenge = challenges_.find(domain);
  if (challenge == challenges_.end()) return "";
  if (challenge->second.scheme == "basic") {
    auto creds = credentials_.Find(domain);
    return creds ? BasicHeader(*creds) : "";
  }
  auto token = tokens_.find(TokenKey(domain, scopes));
  return token == tokens_.end() ? "" : absl::StrCat("Bearer ", token->second);
}

absl::Status Authorizer::HandleChallenge(const std::string& domain,
                                         const std::vector<std::string>& scopes,
                                         const std::string& www_authenticate) {
  if (www_authenticate.empty())
    return absl::UnauthenticatedError(absl::StrCat(
        "registry ", domain, ": 401 Unauthorized without a WWW-Authenticate challenge"));
  GANTRY_ASSIGN_OR_RETURN(AuthChallenge challenge, ParseAuthChallenge(www_authenticate));
  if (challenge.scheme == "basic") {
    if (!credentials_.Find(domain))
      return absl::UnauthenticatedError(
          absl::StrCat("registry ", domain,
                       " requires basic authentication and no credentials "
                       "are configured for it"));
    std::lock_guard lock(mu_);
    challenges_[domain] = std::move(challenge);
    return absl::OkStatus();
  }
  if (challenge.scheme != "bearer")
    return absl::UnimplementedError(absl::StrCat(
        "registry ", domain, ": unsupported authentication scheme \"", challenge.scheme, "\""));
  GANTRY_ASSIGN_OR_RETURN(std::string token, FetchToken(domain, challenge, scopes));
  std::lock_guard lock(mu_);
  tokens_[TokenKey(domain, scopes)] = std::move(token);
  challenges_[domain] = std::move(challenge);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Authorizer::FetchToken(const std::string& domain,
                                                   const AuthChallenge& challenge,
                                                   const std::vector<std::string>& scopes) {
  auto realm_it = challenge.params.find("realm");
  if (realm_it == challenge.params.end())
    return absl::UnauthenticatedError(
        absl::StrCat("registry ", domain, ": Bearer challenge without a realm"));
  auto what = [&](absl::string_view s) {
    return absl::StrCat("get a token for ", domain, " from ", realm_it->second, ": ", s);
  };
  GANTRY_ASSIGN_OR_RETURN(Url url, Url::Parse(realm_it->second));
  if (auto it = challenge.params.find("service"); it != challenge.params.end())
    url.AddQuery("service", it->second);
  // The scopes we need, or the one the registry named when we know none.
  if (!scopes.empty()) {
    for (const std::string& scope : scopes) url.AddQuery("scope", scope);
  } else if (auto it = challenge.params.find("scope"); it != challenge.params.end()) {
    url.AddQuery("scope", it->second);
  }
  HttpRequest request;
  request.url = url;
  request.follow_redirects = true;
  if (auto creds = credentials_.Find(domain))
    request.SetHeader("Authorization", BasicHeader(*creds));
  auto response = http_.Send(request);
  if (!response.ok()) return Annotate(response.status(), what("request"));
  auto body = (*response)->ReadAll(kMaxTokenResponse);
  if (!body.ok()) return Annotate(body.status(), what("read"));
  int status = (*response)->status();
  if (status == 401 || status == 403)
    return absl::UnauthenticatedError(what(absl::StrCat("HTTP ", status, " (wrong credentials?)")));
  if (status != 200) return absl::UnavailableError(what(absl::StrCat("HTTP ", status)));
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json doc, ParseJson(*body, "token response"));
  std::string token, access_token;
  JsonReader r(doc, "");
  r.Optional("token", token).Optional("access_token", access_token);
  if (!r.ok()) return absl::UnavailableError(what(r.status().message()));
  if (token.empty()) token = access_token;
  if (token.empty()) return absl::UnavailableError(what("response has no token"));
  return token;
}

}  // namespace gantry::registry
