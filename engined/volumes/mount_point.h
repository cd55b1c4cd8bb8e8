// What a container mounts besides its root filesystem, as moby's
// volume/mounts parser resolves it at create: HostConfig.Binds
// ("/host:/ctr[:opts]" or "volume:/ctr[:opts]"), HostConfig.Mounts (bind,
// volume, tmpfs), VolumesFrom, and the image's and Config's Volumes, which
// become anonymous volumes where nothing else is mounted.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace gantry::engined {

struct MountPoint {
  std::string type;    // "bind", "volume", "tmpfs"
  std::string name;    // the volume's
  std::string source;  // bind: host path; volume: its mountpoint (filled at create)
  std::string destination;
  std::string driver;  // volumes: "local"
  std::string mode;    // as given: "ro", "z", "" ...
  bool rw = true;
  std::string propagation;  // binds: "rprivate" unless given
  bool copy_data = false;   // volumes: filled from the image on first use
  bool anonymous = false;   // a volume made for this container only
  // Binds (-v) make a missing host directory; --mount refuses it.
  bool create_host_path = false;
  std::vector<std::string> tmpfs_options;  // size=..., mode=...
  // The volume's labels and driver options when the create makes it.
  std::map<std::string, std::string> volume_labels;
  std::map<std::string, std::string> driver_options;

  // Docker's MountPoint JSON (inspect's and ps's "Mounts").
  nlohmann::json ToJson() const;
  nlohmann::json ToStored() const;
  static MountPoint FromStored(const nlohmann::json& stored);
};

// The mount points of another container, for VolumesFrom ("name[:ro|rw]").
using MountPointsOf = std::function<absl::StatusOr<std::vector<MountPoint>>(const std::string&)>;

// Resolves a create's mounts. Anonymous volumes get random names; no
// volume is made here. Errors name the field (HostConfig.Binds ...).
absl::StatusOr<std::vector<MountPoint>> ParseMountPoints(const nlohmann::json& config,
                                                         const nlohmann::json& host_config,
                                                         const MountPointsOf& mount_points_of);

}  // namespace gantry::engined
