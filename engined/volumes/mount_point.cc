#include "engined/volumes/mount_point.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/json_util.h"
#include "engined/containers/container.h"

namespace gantry::engined {
namespace {

bool IsPropagation(absl::string_view mode) {
  return mode == "shared" || mode == "rshared" || mode == "slave" || mode == "rslave" ||
         mode == "private" || mode == "rprivate";
}

std::string CleanPath(absl::string_view path) {
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  return absl::StrCat("/", absl::StrJoin(parts, "/"));
}

// One HostConfig.Binds entry: "/host:/ctr[:mode]" or "name:/ctr[:mode]".
absl::StatusOr<MountPoint> ParseBind(const std::string& spec) {
  const auto invalid = [&spec](absl::string_view why = "") {
    return absl::InvalidArgumentError(
        absl::StrCat("HostConfig.Binds: invalid volume specification: '", spec, "'",
                     why.empty() ? "" : ": ", why));
  };
  std::vector<std::string> parts = absl::StrSplit(spec, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty()) return invalid();
  if (!absl::StartsWith(parts[1], "/")) return invalid("destination must be an absolute path");
  MountPoint mp;
  mp.destination = CleanPath(parts[1]);
  if (mp.destination == "/") return invalid("destination can't be '/'");
  if (parts.size() == 3) mp.mode = parts[2];
  const bool bind = absl::StartsWith(parts[0], "/");
  if (bind) {
    mp.type = "bind";
    mp.source = CleanPath(parts[0]);
    mp.propagation = "rprivate";
    mp.create_host_path = true;
  } else {
    if (!IsValidName(parts[0])) {
      return invalid(absl::StrCat(
          "\"", parts[0],
          "\" includes invalid characters for a local volume name, only "
          "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, "
          "use absolute path"));
    }
    mp.type = "volume";
    mp.name = parts[0];
    mp.driver = "local";
    mp.copy_data = true;
    // Docker shows "z" for a named volume given without a mode.
    if (mp.mode.empty()) mp.mode = "z";
  }
  if (parts.size() == 3) {
    bool rw_given = false;
    for (absl::string_view option : absl::StrSplit(parts[2], ',')) {
      if (option == "ro" || option == "rw") {
        if (rw_given) return invalid("ro and rw given together");
        rw_given = true;
        mp.rw = option == "rw";
      } else if (IsPropagation(option)) {
        if (!bind) return invalid("propagation is for bind mounts");
        mp.propagation = std::string(option);
      } else if (option == "nocopy") {
        if (bind) return invalid("nocopy is for volumes");
        mp.copy_data = false;
      } else if (option != "z" && option != "Z") {
        return invalid(absl::StrCat("unknown option ", option));
      }
    }
  }
  return mp;
}

// One HostConfig.Mounts entry (docker's --mount).
absl::StatusOr<MountPoint> ParseMount(const nlohmann::json& m, const std::string& field) {
  if (!m.is_object())
    return absl::InvalidArgumentError(absl::StrCat(field, ": expected an object"));
  MountPoint mp;
  mp.type = m.value("Type", "");
  const std::string target = m.value("Target", "");
  if (!absl::StartsWith(target, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".Target: \"", target, "\" is not an absolute path"));
  }
  mp.destination = CleanPath(target);
  if (mp.destination == "/") {
    return absl::InvalidArgumentError(absl::StrCat(field, ".Target: destination can't be '/'"));
  }
  mp.rw = !m.value("ReadOnly", false);
  const std::string source = m.value("Source", "");
  if (mp.type == "bind") {
    if (!absl::StartsWith(source, "/")) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".Source: \"", source, "\" is not an absolute path"));
    }
    mp.source = CleanPath(source);
    const std::string propagation =
        m.value("BindOptions", nlohmann::json::object()).value("Propagation", "");
    if (!propagation.empty() && !IsPropagation(propagation)) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".BindOptions.Propagation: \"",
                                                     propagation, "\" is not a propagation mode"));
    }
    mp.propagation = propagation.empty() ? "rprivate" : propagation;
  } else if (mp.type == "volume") {
    if (!source.empty() && !IsValidName(source)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".Source: \"", source,
                       "\" includes invalid characters for a local volume name, only "
                       "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed"));
    }
    const nlohmann::json options = m.value("VolumeOptions", nlohmann::json::object());
    mp.name = source;
    mp.anonymous = source.empty();
    mp.driver = "local";
    mp.copy_data = !options.value("NoCopy", false);
    mp.volume_labels = StringMembers(options.value("Labels", nlohmann::json()));
    const nlohmann::json driver = options.value("DriverConfig", nlohmann::json::object());
    if (const std::string name = driver.value("Name", ""); !name.empty() && name != "local") {
      return absl::InvalidArgumentError(absl::StrCat(field, ".VolumeOptions.DriverConfig.Name: \"",
                                                     name, "\" is not supported (local)"));
    }
    mp.driver_options = StringMembers(driver.value("Options", nlohmann::json()));
  } else if (mp.type == "tmpfs") {
    if (!source.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".Source: must not be specified for tmpfs"));
    }
    const nlohmann::json tmpfs = m.value("TmpfsOptions", nlohmann::json::object());
    if (const int64_t size = tmpfs.value("SizeBytes", int64_t{0}); size > 0) {
      mp.tmpfs_options.push_back(absl::StrCat("size=", size));
    }
    if (tmpfs.contains("Mode") && tmpfs["Mode"].is_number_integer()) {
      mp.tmpfs_options.push_back(absl::StrFormat("mode=%o", tmpfs["Mode"].get<int>() & 07777));
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".Type: \"", mp.type, "\" is not supported (bind, volume, tmpfs)"));
  }
  return mp;
}

MountPoint AnonymousVolume(const std::string& destination) {
  MountPoint mp;
  mp.type = "volume";
  mp.name = NewRandomId();
  mp.driver = "local";
  mp.destination = CleanPath(destination);
  mp.copy_data = true;
  mp.anonymous = true;
  return mp;
}

}  // namespace

nlohmann::json MountPoint::ToJson() const {
  nlohmann::json json = {{"Type", type}};
  if (type == "volume") json["Name"] = name;
  json["Source"] = source;
  json["Destination"] = destination;
  if (type == "volume") json["Driver"] = driver;
  json["Mode"] = mode;
  json["RW"] = rw;
  json["Propagation"] = propagation;
  return json;
}

nlohmann::json MountPoint::ToStored() const {
  return {{"Type", type},
          {"Name", name},
          {"Source", source},
          {"Destination", destination},
          {"Driver", driver},
          {"Mode", mode},
          {"RW", rw},
          {"Propagation", propagation},
          {"CopyData", copy_data},
          {"Anonymous", anonymous},
          {"TmpfsOptions", tmpfs_options}};
}

MountPoint MountPoint::FromStored(const nlohmann::json& stored) {
  MountPoint mp;
  mp.type = stored.value("Type", "");
  mp.name = stored.value("Name", "");
  mp.source = stored.value("Source", "");
  mp.destination = stored.value("Destination", "");
  mp.driver = stored.value("Driver", "");
  mp.mode = stored.value("Mode", "");
  mp.rw = stored.value("RW", true);
  mp.propagation = stored.value("Propagation", "");
  mp.copy_data = stored.value("CopyData", false);
  mp.anonymous = stored.value("Anonymous", false);
  mp.tmpfs_options = stored.value("TmpfsOptions", std::vector<std::string>());
  return mp;
}

absl::StatusOr<std::vector<MountPoint>> ParseMountPoints(const nlohmann::json& config,
                                                         const nlohmann::json& host_config,
                                                         const MountPointsOf& mount_points_of) {
  std::vector<MountPoint> explicit_mounts;  // Binds and Mounts: each destination once
  std::set<std::string> destinations;
  const auto add = [&](MountPoint mp, absl::string_view field) -> absl::Status {
    if (!destinations.insert(mp.destination).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": Duplicate mount point: ", mp.destination));
    }
    explicit_mounts.push_back(std::move(mp));
    return absl::OkStatus();
  };
  if (const nlohmann::json binds = host_config.value("Binds", nlohmann::json()); binds.is_array()) {
    for (const nlohmann::json& bind : binds) {
      if (!bind.is_string())
        return absl::InvalidArgumentError("HostConfig.Binds: expected strings");
      GANTRY_ASSIGN_OR_RETURN(MountPoint mp, ParseBind(bind.get<std::string>()));
      GANTRY_RETURN_IF_ERROR(add(std::move(mp), "HostConfig.Binds"));
    }
  }
  if (const nlohmann::json mounts = host_config.value("Mounts", nlohmann::json());
      mounts.is_array()) {
    for (size_t i = 0; i < mounts.size(); ++i) {
      const std::string field = absl::StrCat("HostConfig.Mounts[", i, "]");
      GANTRY_ASSIGN_OR_RETURN(MountPoint mp, ParseMount(mounts[i], field));
      if (mp.anonymous) mp.name = NewRandomId();
      GANTRY_RETURN_IF_ERROR(add(std::move(mp), field));
    }
  }

  std::vector<MountPoint> result;
  // VolumesFrom first, so that Binds and Mounts on the same destination win.
  if (const nlohmann::json from = host_config.value("VolumesFrom", nlohmann::json());
      from.is_array()) {
    for (const nlohmann::json& entry : from) {
      if (!entry.is_string()) {
        return absl::InvalidArgumentError("HostConfig.VolumesFrom: expected strings");
      }
      std::vector<std::string> parts = absl::StrSplit(entry.get<std::string>(), ':');
      if (parts.size() > 2 || parts[0].empty() ||
          (parts.size() == 2 && parts[1] != "ro" && parts[1] != "rw")) {
        return absl::InvalidArgumentError(absl::StrCat(
            "HostConfig.VolumesFrom: \"", entry.get<std::string>(), "\": expected name[:ro|rw]"));
      }
      absl::StatusOr<std::vector<MountPoint>> theirs = mount_points_of(parts[0]);
      if (!theirs.ok()) return Annotate(theirs.status(), "HostConfig.VolumesFrom");
      for (MountPoint mp : *theirs) {
        if (destinations.count(mp.destination)) continue;
        if (parts.size() == 2) mp.rw = parts[1] == "rw";
        // Shared, never owned: removing this container keeps them.
        mp.anonymous = false;
        mp.copy_data = false;
        mp.create_host_path = false;
        destinations.insert(mp.destination);
        result.push_back(std::move(mp));
      }
    }
  }
  for (MountPoint& mp : explicit_mounts) result.push_back(std::move(mp));

  if (const nlohmann::json volumes = config.value("Volumes", nlohmann::json());
      volumes.is_object()) {
    for (const auto& [path, unused] : volumes.items()) {
      if (!absl::StartsWith(path, "/")) {
        return absl::InvalidArgumentError(
            absl::StrCat("Config.Volumes: \"", path, "\" is not an absolute path"));
      }
      MountPoint mp = AnonymousVolume(path);
      // "/" is never a volume: Debian's docker SDK (5.0.3 on Python 3.11)
      // sends it for every named-volume bind.
      if (mp.destination == "/") continue;
      if (!destinations.insert(mp.destination).second) continue;
      result.push_back(std::move(mp));
    }
  }
  return result;
}

}  // namespace gantry::engined
