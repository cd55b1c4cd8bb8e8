#include "engined/config/daemon_config.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/json_util.h"

namespace gantry::engined {
namespace {

// Docker's keys accepted now and applied by later work.
const std::set<std::string>& PendingKeys() {
  static const std::set<std::string> keys = {"log-driver",
                                             "log-opts",
                                             "registry-mirrors",
                                             "default-ulimits",
                                             "live-restore",
                                             "storage-driver",
                                             "dns",
                                             "dns-opts",
                                             "dns-search",
                                             "bip",
                                             "mtu",
                                             "iptables",
                                             "ip-forward",
                                             "default-runtime",
                                             "runtimes",
                                             "max-concurrent-downloads",
                                             "max-concurrent-uploads",
                                             "shutdown-timeout",
                                             "labels",
                                             "experimental",
                                             "features"};
  return keys;
}

template <typename T>
absl::Status Read(const nlohmann::json& json, const std::string& key, std::optional<T>& out,
                  absl::string_view type, absl::string_view what) {
  try {
    out = json.get<T>();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"", key, "\": expected ", type, ", got ", json.dump()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DaemonConfig> ParseDaemonConfig(absl::string_view text, absl::string_view what) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json json, ParseJson(text, what));
  if (!json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected a JSON object"));
  }
  DaemonConfig config;
  const std::map<std::string, std::optional<std::string>*> strings = {
      {"data-root", &config.data_root}, {"exec-root", &config.exec_root},
      {"log-level", &config.log_level}, {"tlscacert", &config.tls_ca_cert},
      {"tlscert", &config.tls_cert},    {"tlskey", &config.tls_key},
      {"group", &config.group}};
  const std::map<std::string, std::optional<bool>*> booleans = {{"debug", &config.debug},
                                                                {"tlsverify", &config.tls_verify}};
  for (const auto& [key, value] : json.items()) {
    if (key == "hosts") {
      GANTRY_RETURN_IF_ERROR(Read(value, key, config.hosts, "array of strings", what));
    } else if (key == "default-address-pools") {
      if (!value.is_array()) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": default-address-pools: expected an array of {base, size}"));
      }
      config.default_address_pools = value;
    } else if (key == "insecure-registries") {
      GANTRY_RETURN_IF_ERROR(
          Read(value, key, config.insecure_registries, "array of strings", what));
    } else if (auto string = strings.find(key); string != strings.end()) {
      GANTRY_RETURN_IF_ERROR(Read(value, key, *string->second, "string", what));
    } else if (auto boolean = booleans.find(key); boolean != booleans.end()) {
      GANTRY_RETURN_IF_ERROR(Read(value, key, *boolean->second, "boolean", what));
    } else if (PendingKeys().count(key) != 0) {
      config.pending[key] = value;
    } else {
      // dockerd's wording, so users recognise it.
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": the following directives don't match any configuration option: ", key));
    }
  }
  static const std::set<std::string> kLevels = {"debug", "info", "warn", "error", "fatal"};
  if (config.log_level.has_value() && kLevels.count(*config.log_level) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": \"log-level\": unknown level \"",
                                                   *config.log_level,
                                                   "\" (debug, info, warn, error, fatal)"));
  }
  return config;
}

absl::StatusOr<DaemonConfig> LoadDaemonConfig(const std::string& path, bool required) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status()) && !required) return DaemonConfig{};
    return text.status();
  }
  return ParseDaemonConfig(*text, path);
}

}  // namespace gantry::engined
