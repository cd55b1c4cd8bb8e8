// daemon.json, with Docker's key names. Keys engined does not know are
// refused by name, as dockerd does, so a typo is never silently ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::engined {

struct DaemonConfig {
  std::optional<std::vector<std::string>> hosts;
  std::optional<std::string> data_root;
  std::optional<std::string> exec_root;
  std::optional<bool> debug;
  std::optional<std::string> log_level;  // debug, info, warn, error, fatal
  std::optional<bool> tls_verify;
  std::optional<std::string> tls_ca_cert;
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  std::optional<std::string> group;
  std::optional<std::vector<std::string>> insecure_registries;  // handed to contd
  // [{"base": "172.80.0.0/16", "size": 24}, ...], read by the network manager.
  nlohmann::json default_address_pools;
  // Keys Docker defines that later work will apply (log-driver, log-opts,
  // registry-mirrors ...), kept as given.
  nlohmann::json pending = nlohmann::json::object();
};

// Parses daemon.json text; `what` names the file in errors.
absl::StatusOr<DaemonConfig> ParseDaemonConfig(absl::string_view text, absl::string_view what);

// Reads `path`; a missing file is an empty configuration unless `required`.
absl::StatusOr<DaemonConfig> LoadDaemonConfig(const std::string& path, bool required);

}  // namespace gantry::engined
