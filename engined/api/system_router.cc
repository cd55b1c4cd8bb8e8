#include "engined/api/system_router.h"

#include <chrono>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gantry::engined {

SystemRouter::SystemRouter(DaemonIdentity identity, HostInfo host)
    : identity_(std::move(identity)), debug_(identity_.debug), host_(std::move(host)) {}

void SystemRouter::AddRoutes(Router& router) const {
  auto ping = [this](const HttpRequest& request) -> absl::StatusOr<HttpResponse> {
    return Ping(request);
  };
  router.Add("GET", "/_ping", ping);
  router.Add("HEAD", "/_ping", ping);
  router.Add("GET", "/version", [this](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    return HttpResponse::Json(200, Version());
  });
  router.Add("GET", "/info", [this](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    return HttpResponse::Json(200, Info());
  });
}

HttpResponse SystemRouter::Ping(const HttpRequest& request) const {
  // The CLI reads these headers (HEAD first) to pick the version it speaks.
  HttpResponse response =
      HttpResponse::Text(200, request.method == "HEAD" ? "" : "OK", "text/plain; charset=utf-8");
  response.SetHeader("API-Version", kMaxApiVersion.ToString());
  response.SetHeader("OSType", "linux");
  response.SetHeader("Docker-Experimental", "false");
  // "1" is the classic builder; BuildKit is not served.
  response.SetHeader("Builder-Version", "1");
  response.SetHeader("Cache-Control", "no-cache, no-store, must-revalidate");
  response.SetHeader("Pragma", "no-cache");
  return response;
}

nlohmann::json SystemRouter::Version() const {
  nlohmann::json version = {
      {"ApiVersion", kMaxApiVersion.ToString()},
      {"MinAPIVersion", kMinApiVersion.ToString()},
      {"GitCommit", identity_.git_commit},
      {"GoVersion", "n/a"},
      {"Os", "linux"},
      {"Arch", host_.go_arch},
      {"KernelVersion", host_.kernel_version},
      {"BuildTime", identity_.build_time},
  };
  // The Engine component repeats the top level's fields, as dockerd's does.
  nlohmann::json details = version;
  details["Experimental"] = "false";
  version["Version"] = identity_.version;
  version["Platform"] = {{"Name", "Gantry Engine"}};
  version["Components"] = nlohmann::json::array(
      {{{"Name", "Engine"}, {"Version", identity_.version}, {"Details", details}}});
  return version;
}

nlohmann::json SystemRouter::Info() const {
  int64_t containers = 0, running = 0, paused = 0, images = 0;
  if (containers_ != nullptr) {
    for (const Container& c : containers_->List()) {
      ++containers;
      running += c.state.status == "running" ? 1 : 0;
      paused += c.state.status == "paused" ? 1 : 0;
    }
  }
  if (images_ != nullptr) {
    absl::StatusOr<std::vector<ImageDetails>> listed = images_->List();
    images = listed.ok() ? static_cast<int64_t>(listed->size()) : 0;
  }
  // Plugin lists grow as the network and volume routers arrive.
  return {
      {"ID", identity_.id},
      {"Containers", containers},
      {"ContainersRunning", running},
      {"ContainersPaused", paused},
      {"ContainersStopped", containers - running - paused},
      {"Images", images},
      {"Driver", "overlayfs"},
      {"DriverStatus", nlohmann::json::array()},
      {"Plugins",
       {{"Volume", nlohmann::json::array()},
        {"Network", nlohmann::json::array()},
        {"Authorization", nullptr},
        {"Log", {"json-file"}}}},
      {"MemoryLimit", host_.memory_limit},
      {"SwapLimit", host_.swap_limit},
      {"KernelMemory", false},
      {"KernelMemoryTCP", false},
      {"CpuCfsPeriod", host_.cpu_cfs_period},
      {"CpuCfsQuota", host_.cpu_cfs_quota},
      {"CPUShares", host_.cpu_shares},
      {"CPUSet", host_.cpuset},
      {"PidsLimit", host_.pids_limit},
      {"IPv4Forwarding", host_.ipv4_forwarding},
      {"BridgeNfIptables", host_.bridge_nf_iptables},
      {"BridgeNfIp6tables", host_.bridge_nf_ip6tables},
      {"OomKillDisable", host_.cgroup_version == 1 && host_.memory_limit},
      {"Debug", debug_.load()},
      {"NFd", 0},
      {"NGoroutines", 0},
      {"SystemTime", absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", absl::Now(), absl::UTCTimeZone())},
      {"LoggingDriver", "json-file"},
      {"CgroupDriver", "cgroupfs"},
      {"CgroupVersion", std::to_string(host_.cgroup_version)},
      {"NEventsListener", 0},
      {"KernelVersion", host_.kernel_version},
      {"OperatingSystem", host_.operating_system},
      {"OSVersion", host_.os_version},
      {"OSType", "linux"},
      {"Architecture", host_.architecture},
      {"IndexServerAddress", "https://index.docker.io/v1/"},
      {"RegistryConfig",
       {{"AllowNondistributableArtifactsCIDRs", nlohmann::json::array()},
        {"AllowNondistributableArtifactsHostnames", nlohmann::json::array()},
        {"InsecureRegistryCIDRs", {"127.0.0.0/8"}},
        {"IndexConfigs", nlohmann::json::object()},
        {"Mirrors", nlohmann::json::array()}}},
      {"NCPU", host_.ncpu},
      {"MemTotal", host_.mem_total},
      {"GenericResources", nullptr},
      {"DockerRootDir", identity_.data_root},
      {"HttpProxy", ""},
      {"HttpsProxy", ""},
      {"NoProxy", ""},
      {"Name", host_.hostname},
      {"Labels", nlohmann::json::array()},
      {"ExperimentalBuild", false},
      {"ServerVersion", identity_.version},
      {"Runtimes", {{"ocirun", {{"path", identity_.runtime_path}}}}},
      {"DefaultRuntime", "ocirun"},
      {"Swarm",
       {{"NodeID", ""},
        {"NodeAddr", ""},
        {"LocalNodeState", "inactive"},
        {"ControlAvailable", false},
        {"Error", ""},
        {"RemoteManagers", nullptr}}},
      {"LiveRestoreEnabled", true},
      {"Isolation", ""},
      {"InitBinary", ""},
      {"ContainerdCommit", {{"ID", ""}, {"Expected", ""}}},
      {"RuncCommit", {{"ID", ""}, {"Expected", ""}}},
      {"InitCommit", {{"ID", ""}, {"Expected", ""}}},
      {"SecurityOptions", {"name=seccomp,profile=builtin"}},
      {"Warnings", nlohmann::json::array()},
  };
}

}  // namespace gantry::engined
