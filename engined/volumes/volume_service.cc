#include "engined/volumes/volume_service.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/mount_list.h"
#include "engined/containers/container.h"

namespace gantry::engined {
namespace {

const std::vector<sqlite::SchemaComponent>& Schema() {
  static const auto* schema = new std::vector<sqlite::SchemaComponent>{
      {"volumes", {R"sql(
CREATE TABLE volumes (
  name TEXT PRIMARY KEY,
  driver TEXT NOT NULL,
  labels TEXT NOT NULL,
  options TEXT NOT NULL,
  created INTEGER NOT NULL
) WITHOUT ROWID;
)sql"}},
  };
  return *schema;
}

// moby's volume/local: the options its driver takes.
absl::Status ValidateOptions(const std::map<std::string, std::string>& options) {
  for (const auto& [key, value] : options) {
    if (key != "type" && key != "device" && key != "o") {
      return absl::InvalidArgumentError(
          absl::StrCat("DriverOpts: invalid option: \"", key, "\" (local takes type, device, o)"));
    }
  }
  if (options.count("type") && !options.count("device")) {
    return absl::InvalidArgumentError("DriverOpts: missing required option: \"device\"");
  }
  if (options.count("device") && !options.count("type")) {
    return absl::InvalidArgumentError("DriverOpts: missing required option: \"type\"");
  }
  return absl::OkStatus();
}

bool IsMountpoint(const std::string& path) {
  struct stat st {
  }, parent{};
  if (::stat(path.c_str(), &st) != 0 || ::stat((path + "/..").c_str(), &parent) != 0) return false;
  return st.st_dev != parent.st_dev;
}

// du's apparent size, each inode once, never leaving the volume's filesystem.
int64_t TreeSize(int dir_fd, std::set<std::pair<dev_t, ino_t>>& seen) {
  int64_t total = 0;
  DIR* dir = ::fdopendir(dir_fd);
  if (dir == nullptr) {
    ::close(dir_fd);
    return 0;
  }
  while (struct dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(::dirfd(dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!seen.insert({st.st_dev, st.st_ino}).second) continue;
    if (S_ISDIR(st.st_mode)) {
      const int child =
          ::openat(::dirfd(dir), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0) total += TreeSize(child, seen);
    } else {
      total += st.st_size;
    }
  }
  ::closedir(dir);
  return total;
}

}  // namespace

nlohmann::json Volume::ToJson() const {
  return {
      {"CreatedAt", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", created, absl::UTCTimeZone())},
      {"Driver", driver},
      {"Labels", labels.empty() ? nlohmann::json() : nlohmann::json(labels)},
      {"Mountpoint", mountpoint},
      {"Name", name},
      {"Options", options.empty() ? nlohmann::json() : nlohmann::json(options)},
      {"Scope", "local"},
  };
}

absl::StatusOr<std::unique_ptr<VolumeService>> VolumeService::Open(const std::string& data_root,
                                                                   EventHub& events) {
  const std::string root = absl::StrCat(data_root, "/volumes");
  GANTRY_RETURN_IF_ERROR(MakeDirs(root, 0701));
  GANTRY_ASSIGN_OR_RETURN(auto db,
                          sqlite::Database::Open(absl::StrCat(root, "/metadata.db"), Schema()));
  return std::unique_ptr<VolumeService>(new VolumeService(root, std::move(db), events));
}

std::string VolumeService::Mountpoint(const std::string& name) const {
  return absl::StrCat(root_, "/", name, "/_data");
}

absl::StatusOr<std::optional<Volume>> VolumeService::Load(const std::string& name) {
  std::optional<Volume> volume;
  GANTRY_RETURN_IF_ERROR(db_->Read([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        sqlite::Statement query,
        conn.Prepare("SELECT driver, labels, options, created FROM volumes WHERE name = ?"));
    query.Bind(1, name);
    GANTRY_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return absl::OkStatus();
    Volume v;
    v.name = name;
    v.driver = query.ColumnText(0);
    v.labels = nlohmann::json::parse(query.ColumnText(1), nullptr, false)
                   .get<std::map<std::string, std::string>>();
    v.options = nlohmann::json::parse(query.ColumnText(2), nullptr, false)
                    .get<std::map<std::string, std::string>>();
    v.created = absl::FromUnixSeconds(query.ColumnInt(3));
    v.mountpoint = Mountpoint(name);
    volume = std::move(v);
    return absl::OkStatus();
  }));
  return volume;
}

absl::StatusOr<Volume> VolumeService::Create(std::string name, const std::string& driver,
                                             std::map<std::string, std::string> labels,
                                             std::map<std::string, std::string> options) {
  if (name.empty()) name = NewRandomId();
  if (!IsValidName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "create ", name, ": \"", name,
        "\" includes invalid characters for a local volume name, only "
        "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, "
        "use absolute path"));
  }
  const std::string driver_name = driver.empty() ? "local" : driver;
  if (driver_name != "local") {
    return absl::NotFoundError(absl::StrCat("create ", name, ": error looking up volume plugin ",
                                            driver_name, ": plugin \"", driver_name,
                                            "\" not found"));
  }
  GANTRY_RETURN_IF_ERROR(ValidateOptions(options));
  std::lock_guard lock(mu_);
  GANTRY_ASSIGN_OR_RETURN(std::optional<Volume> existing, Load(name));
  if (existing) return *existing;

  Volume v;
  v.name = name;
  v.driver = driver_name;
  v.labels = std::move(labels);
  v.options = std::move(options);
  v.created = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  v.mountpoint = Mountpoint(name);
  // The directory first: a crash leaves an unlisted directory, never a
  // listed volume without one.
  GANTRY_RETURN_IF_ERROR(MakeDirs(absl::StrCat(root_, "/", name), 0701));
  GANTRY_RETURN_IF_ERROR(MakeDirs(v.mountpoint, 0755));
  absl::Status stored = db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        sqlite::Statement insert,
        conn.Prepare(
            "INSERT INTO volumes (name, driver, labels, options, created) VALUES (?, ?, ?, ?, ?)"));
    return insert.Bind(1, v.name)
        .Bind(2, v.driver)
        .Bind(3, nlohmann::json(v.labels).dump())
        .Bind(4, nlohmann::json(v.options).dump())
        .Bind(5, absl::ToUnixSeconds(v.created))
        .Run();
  });
  if (!stored.ok()) {
    (void)RemoveTree(absl::StrCat(root_, "/", name));
    return Annotate(stored, absl::StrCat("create ", name));
  }
  events_.Publish("volume", "create", v.name, {{"driver", v.driver}});
  return v;
}

absl::StatusOr<Volume> VolumeService::Get(const std::string& name) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<Volume> volume, Load(name));
  if (!volume) return absl::NotFoundError(absl::StrCat("get ", name, ": no such volume"));
  return *volume;
}

std::vector<Volume> VolumeService::List(const VolumeFilters& filters) {
  std::vector<std::string> names;
  absl::Status status = db_->Read([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(sqlite::Statement query,
                            conn.Prepare("SELECT name FROM volumes ORDER BY name"));
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) return absl::OkStatus();
      names.push_back(query.ColumnText(0));
    }
  });
  if (!status.ok()) log::Warning("engined: listing volumes: ", status.message());
  std::vector<Volume> volumes;
  for (const std::string& name : names) {
    absl::StatusOr<std::optional<Volume>> volume = Load(name);
    if (!volume.ok() || !*volume) continue;
    const Volume& v = **volume;
    auto any = [](const std::vector<std::string>& wanted, auto&& match) {
      return wanted.empty() || std::any_of(wanted.begin(), wanted.end(), match);
    };
    if (!any(filters.names, [&](const std::string& n) { return absl::StrContains(v.name, n); }))
      continue;
    if (!any(filters.drivers, [&](const std::string& d) { return v.driver == d; })) continue;
    if (filters.dangling && References(v.name).empty() != *filters.dangling) continue;
    volumes.push_back(v);
  }
  return volumes;
}

bool VolumeService::InUse(const std::string& name) {
  auto it = references_.find(name);
  return it != references_.end() && !it->second.empty();
}

absl::Status VolumeService::Remove(const std::string& name, bool force) {
  std::lock_guard lock(mu_);
  GANTRY_ASSIGN_OR_RETURN(std::optional<Volume> volume, Load(name));
  if (!volume) {
    if (force) return absl::OkStatus();
    return absl::NotFoundError(absl::StrCat("get ", name, ": no such volume"));
  }
  if (InUse(name)) {
    const std::set<std::string>& ids = references_[name];
    return absl::FailedPreconditionError(absl::StrCat("remove ", name, ": volume is in use - [",
                                                      absl::StrJoin(ids.begin(), ids.end(), ", "),
                                                      "]"));
  }
  return RemoveLocked(*volume);
}

absl::Status VolumeService::RemoveLocked(const Volume& volume) {
  UnmountAll(volume.mountpoint);
  GANTRY_RETURN_IF_ERROR(db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(sqlite::Statement statement,
                            conn.Prepare("DELETE FROM volumes WHERE name = ?"));
    return statement.Bind(1, volume.name).Run();
  }));
  references_.erase(volume.name);
  mounted_by_.erase(volume.name);
  GANTRY_RETURN_IF_ERROR(RemoveTree(absl::StrCat(root_, "/", volume.name)));
  events_.Publish("volume", "destroy", volume.name, {{"driver", volume.driver}});
  return absl::OkStatus();
}

std::pair<std::vector<std::string>, int64_t> VolumeService::Prune(
    const std::function<bool(const Volume&)>& select) {
  std::vector<std::string> removed;
  int64_t reclaimed = 0;
  for (const Volume& v : List()) {
    if (!select(v)) continue;
    std::lock_guard lock(mu_);
    if (InUse(v.name)) continue;
    const int64_t size = Size(v);
    if (absl::Status status = RemoveLocked(v); !status.ok()) {
      log::Warning("volumes/prune: ", v.name, ": ", status.message());
      continue;
    }
    removed.push_back(v.name);
    reclaimed += size;
  }
  return std::make_pair(std::move(removed), reclaimed);
}

void VolumeService::AddReference(const std::string& name, const std::string& container_id) {
  std::lock_guard lock(mu_);
  references_[name].insert(container_id);
}

void VolumeService::RemoveReference(const std::string& name, const std::string& container_id) {
  std::lock_guard lock(mu_);
  if (auto it = references_.find(name); it != references_.end()) {
    it->second.erase(container_id);
    if (it->second.empty()) references_.erase(it);
  }
}

std::vector<std::string> VolumeService::References(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = references_.find(name);
  if (it == references_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

absl::StatusOr<std::string> VolumeService::Mount(const std::string& name,
                                                 const std::string& container_id) {
  GANTRY_ASSIGN_OR_RETURN(Volume volume, Get(name));
  std::lock_guard lock(mu_);
  std::set<std::string>& users = mounted_by_[name];
  auto device = volume.options.find("device");
  // A mount left from before an engined restart is kept and shared.
  if (device != volume.options.end() && users.empty() && !IsMountpoint(volume.mountpoint)) {
    const std::string type = volume.options["type"];
    std::vector<std::string> options;
    if (auto o = volume.options.find("o"); o != volume.options.end()) {
      options = absl::StrSplit(o->second, ',', absl::SkipEmpty());
    }
    // o=bind (type none) binds a host directory, as mount(8) would.
    const bool bind = std::find(options.begin(), options.end(), "bind") != options.end() ||
                      std::find(options.begin(), options.end(), "rbind") != options.end();
    absl::Status mounted =
        MountAll({gantry::Mount{bind ? "bind" : type, device->second, options}}, volume.mountpoint);
    if (!mounted.ok()) {
      if (users.empty()) mounted_by_.erase(name);
      return Annotate(mounted, absl::StrCat("mount volume ", name));
    }
  }
  users.insert(container_id);
  return volume.mountpoint;
}

void VolumeService::Unmount(const std::string& name, const std::string& container_id) {
  absl::StatusOr<std::optional<Volume>> volume = Load(name);
  std::lock_guard lock(mu_);
  auto it = mounted_by_.find(name);
  if (it == mounted_by_.end() || it->second.erase(container_id) == 0) return;
  if (!it->second.empty()) return;
  mounted_by_.erase(it);
  if (volume.ok() && *volume && (*volume)->options.count("device")) {
    UnmountAll((*volume)->mountpoint);
  }
}

int64_t VolumeService::Size(const Volume& volume) {
  const int fd = ::open(volume.mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  return TreeSize(fd, seen);
}

}  // namespace gantry::engined
