// `create` and `run` flags, and the body of POST /containers/create they
// become (Config with HostConfig inside, as the docker CLI sends it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace gantry::cli {

struct ContainerFlags {
  std::vector<std::string> args;  // IMAGE [COMMAND [ARG...]]
  std::string name;
  bool detach = false;
  bool interactive = false;
  bool tty = false;
  bool auto_remove = false;
  std::vector<std::string> env;
  std::string workdir;
  std::string user;
  std::optional<std::string> entrypoint;
  std::string hostname;
  std::vector<std::string> labels;
  std::string restart;
  std::string memory;
  double cpus = 0;
  std::vector<std::string> volumes;
  std::vector<std::string> mounts;
  std::vector<std::string> tmpfs;
  std::string network;
  std::vector<std::string> network_aliases;
  std::string ip;
  std::vector<std::string> publish;
  bool publish_all = false;
  std::vector<std::string> expose;
  std::vector<std::string> volumes_from;
  std::string stop_signal;
  std::optional<int> stop_timeout;
  bool privileged = false;
  bool read_only = false;
  bool init = false;

  const std::string& image() const { return args.front(); }
};

// Adds create's flags to `command` (run adds -d too).
void AddContainerFlags(CLI::App& command, ContainerFlags& flags);

// The create request's body; errors name the flag ("invalid restart
// policy: …").
absl::StatusOr<nlohmann::json> CreateContainerBody(const ContainerFlags& flags);

// "512m", "1g", "1024" -> bytes, as docker's RAMInBytes.
absl::StatusOr<int64_t> ParseMemory(const std::string& text);
// "on-failure:3" -> {"Name": "on-failure", "MaximumRetryCount": 3}.
absl::StatusOr<nlohmann::json> ParseRestartPolicy(const std::string& text);
// "type=bind,source=/a,target=/b,readonly" -> a HostConfig.Mounts entry;
// for volumes also volume-nocopy, volume-opt=k=v, volume-label=k=v,
// volume-driver and volume-subpath (VolumeOptions).
absl::StatusOr<nlohmann::json> ParseMount(const std::string& text);

}  // namespace gantry::cli
