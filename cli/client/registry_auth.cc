#include "cli/client/registry_auth.h"

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"

namespace gantry::cli {
namespace {

// "https://index.docker.io/v1/" and "http://host:5000/" as bare hosts.
std::string HostOfKey(absl::string_view key) {
  absl::ConsumePrefix(&key, "https://");
  absl::ConsumePrefix(&key, "http://");
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == "registry-1.docker.io") return "docker.io";
  return std::string(key);
}

}  // namespace

std::string RegistryOf(const std::string& reference) {
  const size_t slash = reference.find('/');
  if (slash == std::string::npos) return "docker.io";
  const std::string first = reference.substr(0, slash);
  if (absl::StrContains(first, ".") || absl::StrContains(first, ":") || first == "localhost") {
    return first;
  }
  return "docker.io";
}

std::string RegistryAuthFromConfig(const std::string& reference, const nlohmann::json& config) {
  nlohmann::json auth = nlohmann::json::object();
  const std::string registry = RegistryOf(reference);
  const nlohmann::json auths = config.is_object() ? config.value("auths", nlohmann::json::object())
                                                  : nlohmann::json::object();
  for (const auto& [key, entry] : auths.items()) {
    if (HostOfKey(key) != registry || !entry.is_object()) continue;
    std::string user_password;
    if (entry.contains("auth") && entry["auth"].is_string() &&
        absl::Base64Unescape(entry["auth"].get<std::string>(), &user_password)) {
      const size_t colon = user_password.find(':');
      auth["username"] = user_password.substr(0, colon);
      auth["password"] = colon == std::string::npos ? "" : user_password.substr(colon + 1);
    }
    if (entry.contains("identitytoken")) auth["identitytoken"] = entry["identitytoken"];
    auth["serveraddress"] = key;
    break;
  }
  // docker's encoding: URL-safe base64 with padding.
  std::string encoded = absl::WebSafeBase64Escape(auth.dump());
  while (encoded.size() % 4 != 0) encoded.push_back('=');
  return encoded;
}

std::string RegistryAuth(const std::string& reference) {
  std::string dir;
  if (const char* config_dir = ::getenv("DOCKER_CONFIG"); config_dir != nullptr) {
    dir = config_dir;
  } else if (const char* home = ::getenv("HOME"); home != nullptr) {
    dir = absl::StrCat(home, "/.docker");
  }
  nlohmann::json config = nlohmann::json::object();
  if (absl::StatusOr<std::string> text = ReadFile(dir + "/config.json"); text.ok()) {
    config = nlohmann::json::parse(*text, nullptr, false);
  }
  return RegistryAuthFromConfig(reference, config);
}

}  // namespace gantry::cli
