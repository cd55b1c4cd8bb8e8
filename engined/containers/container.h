// A container as engined keeps it: Docker's Config and HostConfig as the
// client sent them (with the image's defaults filled in), and its state.
// Serialised whole to JSON for the store and shaped into Docker's inspect
// and list JSON here, in one place.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engined/volumes/mount_point.h"

namespace gantry::engined {

struct ContainerState {
  // "created", "running", "paused", "restarting", "removing", "exited", "dead".
  std::string status = "created";
  int pid = 0;
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;
  absl::Time started_at = absl::UnixEpoch();
  absl::Time finished_at = absl::UnixEpoch();
  // Docker's State.Health (Status, FailingStreak, Log) with a healthcheck.
  nlohmann::json health;

  bool Running() const { return status == "running" || status == "paused"; }
};

struct Container {
  std::string id;    // 64 hex digits
  std::string name;  // without Docker's leading "/"
  absl::Time created;
  std::string image;              // as the client named it (Config.Image)
  std::string image_id;           // "sha256:..." (config digest)
  nlohmann::json config;          // Docker's Config, image defaults merged
  nlohmann::json host_config;     // Docker's HostConfig, defaults filled
  std::string path;               // the process's executable ...
  std::vector<std::string> args;  // ... and its arguments
  ContainerState state;
  int restart_count = 0;
  // Set by "docker stop"/"kill": an exit that follows is not restarted
  // (unless-stopped and always both honour it until the next start).
  bool stopped_by_user = false;
  std::string log_path;  // json-file log, written by the shim
  std::string resolv_conf_path;
  std::string hostname_path;
  std::string hosts_path;
  std::vector<MountPoint> mounts;  // binds, volumes, --mount tmpfs
  // Network name or ID -> the EndpointSettings asked for (NetworkMode's
  // network and NetworkingConfig's, docker network connect's).
  nlohmann::json networks = nlohmann::json::object();
  // Docker's NetworkSettings as of the last start, exit or connect.
  nlohmann::json network_settings;
  // The network namespace the container joins while it runs ("" for the
  // host's).
  std::string sandbox_key;

  bool tty() const { return config.value("Tty", false); }
  std::string ShortId() const { return id.substr(0, 12); }

  nlohmann::json ToStored() const;
  static absl::StatusOr<Container> FromStored(const nlohmann::json& stored);

  // GET /containers/{id}/json.
  nlohmann::json Inspect() const;
  // One entry of GET /containers/json.
  nlohmann::json Summary() const;
  // Docker's "Up 5 minutes", "Exited (0) 2 seconds ago", "Created".
  std::string StatusText(absl::Time now) const;

 private:
  nlohmann::json MountsJson(nlohmann::json (MountPoint::*shape)() const) const;
  nlohmann::json PortsSummary() const;
};

// 64 random hex digits: a container or exec ID, as Docker's.
std::string NewRandomId();

// Docker's rule for container and volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]+.
bool IsValidName(const std::string& name);

// RFC 3339 with nanoseconds, and Go's zero time for the epoch, as Docker prints.
std::string DockerTime(absl::Time time);

}  // namespace gantry::engined
