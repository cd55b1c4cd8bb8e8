// Named volumes with Docker's `local` driver: a directory per volume under
// <data-root>/volumes/NAME/_data, or, with the driver options type/device/o,
// a filesystem mounted there while containers use it (as moby's
// volume/local). Metadata in <data-root>/volumes/metadata.db (SQLite). The
// containers that reference a volume are tracked here, so a volume in use
// is never removed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sqlite_database.h"
#include "engined/daemon/event_hub.h"

namespace gantry::engined {

// Docker 23+ marks the volumes it makes for VOLUME and `-v /path` with this
// label; prune removes only those unless asked for all.
inline constexpr char kAnonymousVolumeLabel[] = "com.docker.volume.anonymous";

struct Volume {
  std::string name;
  std::string driver = "local";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;  // type, device, o
  absl::Time created;
  std::string mountpoint;  // .../volumes/NAME/_data

  bool anonymous() const { return labels.count(kAnonymousVolumeLabel) > 0; }
  // Docker's Volume object (GET /volumes/{name}).
  nlohmann::json ToJson() const;
};

struct VolumeFilters {
  std::vector<std::string> names;    // substring match
  std::vector<std::string> drivers;  // exact
  std::optional<bool> dangling;      // referenced by no container
};

class VolumeService {
 public:
  static absl::StatusOr<std::unique_ptr<VolumeService>> Open(const std::string& data_root,
                                                             EventHub& events);

  // POST /volumes/create. An empty name gets a random 64-hex one. An
  // existing volume of the same name and driver is returned as it is.
  // Errors name the field (Name, Driver, DriverOpts).
  absl::StatusOr<Volume> Create(std::string name, const std::string& driver,
                                std::map<std::string, std::string> labels,
                                std::map<std::string, std::string> options);
  // NOT_FOUND "get NAME: no such volume".
  absl::StatusOr<Volume> Get(const std::string& name);
  std::vector<Volume> List(const VolumeFilters& filters = {});
  // FAILED_PRECONDITION (409) while a container references it; with
  // `force`, a missing volume is no error (docker volume rm -f).
  absl::Status Remove(const std::string& name, bool force = false);
  // Removes the volumes no container references that `select` picks;
  // their names and the bytes freed.
  std::pair<std::vector<std::string>, int64_t> Prune(
      const std::function<bool(const Volume&)>& select);

  // A container uses / stops using the volume (restored at engined start).
  void AddReference(const std::string& name, const std::string& container_id);
  void RemoveReference(const std::string& name, const std::string& container_id);
  std::vector<std::string> References(const std::string& name);

  // The container starts: a volume with a device is mounted on its
  // mountpoint for the first user. Returns the path to bind into the
  // container. Unmount() when that container stops; the last user unmounts.
  absl::StatusOr<std::string> Mount(const std::string& name, const std::string& container_id);
  void Unmount(const std::string& name, const std::string& container_id);

  // Bytes under the volume's mountpoint (hard links once), for /system/df.
  int64_t Size(const Volume& volume);

 private:
  VolumeService(std::string root, std::unique_ptr<sqlite::Database> db, EventHub& events)
      : root_(std::move(root)), db_(std::move(db)), events_(events) {}

  absl::StatusOr<std::optional<Volume>> Load(const std::string& name);
  std::string Mountpoint(const std::string& name) const;
  bool InUse(const std::string& name);  // mu_ held
  absl::Status RemoveLocked(const Volume& volume);

  const std::string root_;  // <data-root>/volumes
  std::unique_ptr<sqlite::Database> db_;
  EventHub& events_;

  std::mutex mu_;  // guards the maps below, and serialises create/remove
  std::map<std::string, std::set<std::string>> references_;  // name -> container IDs
  std::map<std::string, std::set<std::string>> mounted_by_;  // name -> running containers
};

}  // namespace gantry::engined
