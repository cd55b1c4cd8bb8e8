#include "engined/containers/container.h"

#include <random>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "common/time_util.h"

namespace gantry::engined {
namespace {

absl::StatusOr<absl::Time> ParseDockerTime(const nlohmann::json& value, absl::string_view field) {
  absl::Time time;
  std::string error;
  if (!value.is_string()) return absl::InvalidArgumentError(absl::StrCat(field, ": not a time"));
  if (value.get<std::string>() == "0001-01-01T00:00:00Z") return absl::UnixEpoch();
  if (!absl::ParseTime(absl::RFC3339_full, value.get<std::string>(), &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", error));
  }
  return time;
}

}  // namespace

std::string NewRandomId() {
  static thread_local std::random_device device;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < 32; ++i) {
    const unsigned value = device() & 0xff;
    hex += kDigits[value >> 4];
    hex += kDigits[value & 0xf];
  }
  return hex;
}

bool IsValidName(const std::string& name) {
  static const std::regex kValid("[a-zA-Z0-9][a-zA-Z0-9_.-]+");
  return std::regex_match(name, kValid);
}

std::string DockerTime(absl::Time time) {
  if (time == absl::UnixEpoch()) return "0001-01-01T00:00:00Z";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

std::string Container::StatusText(absl::Time now) const {
  if (state.status == "paused") {
    return absl::StrCat("Up ", HumanDuration(absl::ToInt64Seconds(now - state.started_at)),
                        " (Paused)");
  }
  if (state.status == "running") {
    std::string health;
    if (state.health.is_object()) {
      const std::string status = state.health.value("Status", "");
      health = status == "starting" ? " (health: starting)" : absl::StrCat(" (", status, ")");
    }
    return absl::StrCat("Up ", HumanDuration(absl::ToInt64Seconds(now - state.started_at)), health);
  }
  if (state.status == "restarting") {
    return absl::StrCat("Restarting (", state.exit_code, ") ",
                        HumanDuration(absl::ToInt64Seconds(now - state.finished_at)), " ago");
  }
  if (state.status == "removing") return "Removal In Progress";
  if (state.status == "dead") return "Dead";
  if (state.started_at == absl::UnixEpoch()) return "Created";
  if (state.finished_at == absl::UnixEpoch()) return "";
  return absl::StrCat("Exited (", state.exit_code, ") ",
                      HumanDuration(absl::ToInt64Seconds(now - state.finished_at)), " ago");
}

nlohmann::json Container::MountsJson(nlohmann::json (MountPoint::*shape)() const) const {
  nlohmann::json list = nlohmann::json::array();
  for (const MountPoint& mount : mounts) list.push_back((mount.*shape)());
  return list;
}

nlohmann::json Container::PortsSummary() const {
  // ps's shape: one entry per published binding, and the exposed ports
  // without one.
  nlohmann::json list = nlohmann::json::array();
  const nlohmann::json ports = network_settings.is_object()
                                   ? network_settings.value("Ports", nlohmann::json::object())
                                   : nlohmann::json::object();
  for (const auto& [key, bindings] : ports.items()) {
    const size_t slash = key.find('/');
    const int port = std::atoi(key.substr(0, slash).c_str());
    const std::string type = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
    if (!bindings.is_array()) {
      list.push_back({{"PrivatePort", port}, {"Type", type}});
      continue;
    }
    for (const nlohmann::json& b : bindings) {
      list.push_back({{"IP", b.value("HostIp", "")},
                      {"PrivatePort", port},
                      {"PublicPort", std::atoi(b.value("HostPort", "0").c_str())},
                      {"Type", type}});
    }
  }
  return list;
}

nlohmann::json Container::ToStored() const {
  return {
      {"Id", id},
      {"Name", name},
      {"Created", DockerTime(created)},
      {"Image", image},
      {"ImageID", image_id},
      {"Config", config},
      {"HostConfig", host_config},
      {"Path", path},
      {"Args", args},
      {"State",
       {{"Status", state.status},
        {"Pid", state.pid},
        {"ExitCode", state.exit_code},
        {"OOMKilled", state.oom_killed},
        {"Error", state.error},
        {"StartedAt", DockerTime(state.started_at)},
        {"FinishedAt", DockerTime(state.finished_at)},
        {"Health", state.health}}},
      {"RestartCount", restart_count},
      {"StoppedByUser", stopped_by_user},
      {"LogPath", log_path},
      {"ResolvConfPath", resolv_conf_path},
      {"HostnamePath", hostname_path},
      {"HostsPath", hosts_path},
      {"MountPoints", MountsJson(&MountPoint::ToStored)},
      {"Networks", networks},
      {"NetworkSettings", network_settings},
      {"SandboxKey", sandbox_key},
  };
}

absl::StatusOr<Container> Container::FromStored(const nlohmann::json& stored) {
  try {
    Container c;
    c.id = stored.at("Id").get<std::string>();
    c.name = stored.at("Name").get<std::string>();
    GANTRY_ASSIGN_OR_RETURN(c.created, ParseDockerTime(stored.at("Created"), "Created"));
    c.image = stored.at("Image").get<std::string>();
    c.image_id = stored.at("ImageID").get<std::string>();
    c.config = stored.at("Config");
    c.host_config = stored.at("HostConfig");
    c.path = stored.at("Path").get<std::string>();
    c.args = stored.at("Args").get<std::vector<std::string>>();
    const nlohmann::json& state = stored.at("State");
    c.state.status = state.at("Status").get<std::string>();
    c.state.pid = state.at("Pid").get<int>();
    c.state.exit_code = state.at("ExitCode").get<int>();
    c.state.oom_killed = state.at("OOMKilled").get<bool>();
    c.state.error = state.at("Error").get<std::string>();
    GANTRY_ASSIGN_OR_RETURN(c.state.started_at,
                            ParseDockerTime(state.at("StartedAt"), "State.StartedAt"));
    GANTRY_ASSIGN_OR_RETURN(c.state.finished_at,
                            ParseDockerTime(state.at("FinishedAt"), "State.FinishedAt"));
    c.state.health = state.value("Health", nlohmann::json());
    c.restart_count = stored.at("RestartCount").get<int>();
    c.stopped_by_user = stored.at("StoppedByUser").get<bool>();
    c.log_path = stored.at("LogPath").get<std::string>();
    c.resolv_conf_path = stored.at("ResolvConfPath").get<std::string>();
    c.hostname_path = stored.at("HostnamePath").get<std::string>();
    c.hosts_path = stored.at("HostsPath").get<std::string>();
    c.networks = stored.value("Networks", nlohmann::json::object());
    c.network_settings = stored.value("NetworkSettings", nlohmann::json());
    c.sandbox_key = stored.value("SandboxKey", "");
    for (const nlohmann::json& mount : stored.value("MountPoints", nlohmann::json::array())) {
      c.mounts.push_back(MountPoint::FromStored(mount));
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat("stored container: ", e.what()));
  }
}

nlohmann::json Container::Inspect() const {
  const bool running = state.Running();
  nlohmann::json inspect = {
      {"Id", id},
      {"Created", DockerTime(created)},
      {"Path", path},
      {"Args", args},
      {"State",
       {{"Status", state.status},
        {"Running", running},
        {"Paused", state.status == "paused"},
        {"Restarting", state.status == "restarting"},
        {"OOMKilled", state.oom_killed},
        {"Dead", state.status == "dead"},
        {"Pid", running ? state.pid : 0},
        {"ExitCode", state.exit_code},
        {"Error", state.error},
        {"StartedAt", DockerTime(state.started_at)},
        {"FinishedAt", DockerTime(state.finished_at)}}},
      {"Image", image_id},
      {"ResolvConfPath", resolv_conf_path},
      {"HostnamePath", hostname_path},
      {"HostsPath", hosts_path},
      {"LogPath", log_path},
      {"Name", "/" + name},
      {"RestartCount", restart_count},
      {"Driver", "overlayfs"},
      {"Platform", "linux"},
      {"MountLabel", ""},
      {"ProcessLabel", ""},
      {"AppArmorProfile", ""},
      {"ExecIDs", nullptr},
      {"HostConfig", host_config},
      {"GraphDriver", {{"Data", nullptr}, {"Name", "overlayfs"}}},
      {"Mounts", MountsJson(&MountPoint::ToJson)},
      {"Config", config},
      {"NetworkSettings", network_settings.is_object()
                              ? network_settings
                              : nlohmann::json{{"Bridge", ""},
                                               {"SandboxID", ""},
                                               {"SandboxKey", ""},
                                               {"Ports", nlohmann::json::object()},
                                               {"Networks", nlohmann::json::object()}}},
  };
  if (state.health.is_object()) inspect["State"]["Health"] = state.health;
  return inspect;
}

nlohmann::json Container::Summary() const {
  std::vector<std::string> command = {path};
  command.insert(command.end(), args.begin(), args.end());
  return {
      {"Id", id},
      {"Names", {"/" + name}},
      {"Image", image},
      {"ImageID", image_id},
      {"Command", absl::StrJoin(command, " ")},
      {"Created", absl::ToUnixSeconds(created)},
      {"Ports", PortsSummary()},
      {"Labels", config.value("Labels", nlohmann::json::object())},
      {"State", state.status},
      {"Status", StatusText(absl::Now())},
      {"HostConfig", {{"NetworkMode", host_config.value("NetworkMode", "default")}}},
      {"NetworkSettings",
       {{"Networks", network_settings.is_object()
                         ? network_settings.value("Networks", nlohmann::json::object())
                         : nlohmann::json::object()}}},
      {"Mounts", MountsJson(&MountPoint::ToJson)},
  };
}

}  // namespace gantry::engined
