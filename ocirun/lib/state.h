// What ocirun records about a container under --root, and its status as the
// OCI spec defines it (created, running, paused, stopped).
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace ocirun {

enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* StatusName(Status status);

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // /proc/PID/stat field 22: guards against pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds
  std::string owner;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> cgroup_paths;  // controller -> directory
  bool own_pid_namespace = true;                    // killing init then kills everything
  bool systemd_cgroup = false;
};

// The container directories under a --root (default /run/ocirun).
class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string Dir(const std::string& id) const { return root_ + "/" + id; }
  std::string ExecFifo(const std::string& id) const { return Dir(id) + "/exec.fifo"; }
  // The bundle's config.json as given at create, for exec, update and delete.
  std::string ConfigCopy(const std::string& id) const { return Dir(id) + "/config.json"; }

  absl::StatusOr<ContainerState> Load(const std::string& id) const;
  absl::Status Save(const ContainerState& state) const;
  absl::Status Remove(const std::string& id) const;
  // Ids of every container directory, sorted.
  std::vector<std::string> List() const;

 private:
  std::string root_;
};

// Checks an id as runc does: [A-Za-z0-9_+.-]+ but not "." or "..", at most 1024 bytes.
absl::Status ValidateId(const std::string& id);

// Start time of a live process, or nullopt when it is gone or a zombie.
std::optional<uint64_t> ProcessStartTime(pid_t pid);

Status CurrentStatus(const StateStore& store, const ContainerState& state);

// The OCI state JSON plus runc's extra fields (rootfs, created, owner).
nlohmann::json StateJson(const ContainerState& state, Status status);

}  // namespace ocirun
