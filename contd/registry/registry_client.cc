// RegistryClient's plumbing: endpoints, authorization and errors. The API
// calls are in pull.cc and push.cc.
#include "contd/registry/registry_client.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "common/json_util.h"

namespace gantry::registry {
namespace {

constexpr size_t kMaxErrorBody = 64 << 10;

absl::StatusCode CodeForHttp(int status) {
  switch (status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 405:
      return absl::StatusCode::kUnimplemented;
    case 409:
      return absl::StatusCode::kAlreadyExists;
    case 416:
      return absl::StatusCode::kOutOfRange;
    default:
      return status == 429 || status >= 500 ? absl::StatusCode::kUnavailable
                                            : absl::StatusCode::kUnknown;
  }
}

}  // namespace

absl::Status HttpError(HttpResponse& response, absl::string_view what) {
  std::string detail;
  auto body = response.ReadAll(kMaxErrorBody);
  // Registries explain failures as {"errors":[{"code":..,"message":..}]}.
  if (body.ok() && !body->empty()) {
    auto doc = ParseJson(*body, "error body");
    if (doc.ok() && doc->is_object() && (*doc)["errors"].is_array()) {
      std::vector<std::string> parts;
      for (const auto& e : (*doc)["errors"]) {
        if (!e.is_object()) continue;
        parts.push_back(absl::StrCat(e.value("code", ""), ": ", e.value("message", "")));
      }
      detail = absl::StrJoin(parts, "; ");
    } else if (body->size() < 200) {
      detail = *body;
    }
  }
  int status = response.status();
  return absl::Status(CodeForHttp(status),
                      absl::StrCat(what, ": HTTP ", status, detail.empty() ? "" : " ", detail));
}

std::vector<std::string> PullScopes(const Reference& repo) {
  return {absl::StrCat("repository:", repo.path(), ":pull")};
}

std::vector<std::string> PushScopes(const Reference& repo) {
  return {absl::StrCat("repository:", repo.path(), ":pull,push")};
}

absl::StatusOr<std::unique_ptr<RegistryClient>> RegistryClient::Create(
    RegistryClientOptions options) {
  GANTRY_ASSIGN_OR_RETURN(RegistryHosts hosts, RegistryHosts::Create(options.hosts));
  CredentialStore credentials;
  if (!options.docker_config.empty()) {
    GANTRY_ASSIGN_OR_RETURN(credentials, CredentialStore::Load(options.docker_config));
  }
  return std::unique_ptr<RegistryClient>(
      new RegistryClient(std::move(options), std::move(hosts), std::move(credentials)));
}

RegistryClient::RegistryClient(RegistryClientOptions options, RegistryHosts hosts,
                               CredentialStore credentials)
    : options_(std::move(options)),
      hosts_(std::move(hosts)),
      http_(options_.http, [this](const Url& url) { return hosts_.TlsFor(url); }),
      authorizer_(http_, std::move(credentials)) {}

absl::StatusOr<Url> RegistryClient::BaseUrl(const std::string& domain) {
  {
    std::lock_guard lock(mu_);
    if (auto it = base_urls_.find(domain); it != base_urls_.end()) return it->second;
  }
  std::vector<std::string> errors;
  for (const RegistryEndpoint& endpoint : hosts_.Endpoints(domain)) {
    HttpRequest ping;
    ping.url = endpoint.base;
    ping.url.target = "/v2/";
    // Any HTTP answer (401 included) proves the endpoint speaks the API.
    auto response = http_.Send(ping);
    if (!response.ok()) {
      errors.push_back(absl::StrCat(endpoint.base.str(), ": ", response.status().message()));
      continue;
    }
    (*response)->Discard();  // the connection serves the next request
    std::lock_guard lock(mu_);
    base_urls_.emplace(domain, endpoint.base);
    return endpoint.base;
  }
  return absl::UnavailableError(
      absl::StrCat("registry ", domain, " unreachable: ", absl::StrJoin(errors, "; ")));
}

absl::StatusOr<Url> RegistryClient::ApiUrl(const Reference& repo, absl::string_view path) {
  GANTRY_ASSIGN_OR_RETURN(Url url, BaseUrl(repo.domain()));
  url.target = absl::StrCat("/v2/", repo.path(), path);
  return url;
}

absl::StatusOr<std::unique_ptr<HttpResponse>> RegistryClient::Do(
    const std::string& domain, const std::vector<std::string>& scopes, HttpRequest request) {
  for (int attempt = 0;; ++attempt) {
    std::string auth = authorizer_.HeaderFor(domain, scopes);
    if (!auth.empty()) request.SetHeader("Authorization", auth);
    GANTRY_ASSIGN_OR_RETURN(auto response, http_.Send(request));
    if (response->status() != 401) return response;
    std::string what = absl::StrCat(request.method, " ", request.url.str());
    if (attempt > 0)
      return Annotate(HttpError(*response, what), "authentication failed (wrong credentials?)");
    response->Discard();
    GANTRY_RETURN_IF_ERROR(
        authorizer_.HandleChallenge(domain, scopes, response->Header("WWW-Authenticate")));
  }
}

}  // namespace gantry::registry
