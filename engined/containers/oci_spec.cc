#include "engined/containers/oci_spec.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/oci_defaults/capabilities.h"
#include "common/oci_defaults/seccomp_profile.h"
#include "engined/containers/user_lookup.h"

namespace gantry::engined {
namespace {

constexpr int64_t kDefaultShmSize = 64 << 20;
// --init's process: the host's static tini, where Docker mounts docker-init.
constexpr char kInitBinary[] = "/usr/bin/tini-static";
constexpr char kInitPath[] = "/sbin/docker-init";

// moby's oci.DefaultSpec masked and read-only paths.
const char* const kMaskedPaths[] = {"/proc/asound",
                                    "/proc/acpi",
                                    "/proc/kcore",
                                    "/proc/keys",
                                    "/proc/latency_stats",
                                    "/proc/timer_list",
                                    "/proc/timer_stats",
                                    "/proc/sched_debug",
                                    "/proc/scsi",
                                    "/sys/firmware",
                                    "/sys/devices/virtual/powercap"};
const char* const kReadonlyPaths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"};

nlohmann::json Mount(std::string destination, std::string type, std::string source,
                     std::vector<std::string> options) {
  return {{"destination", std::move(destination)},
          {"type", std::move(type)},
          {"source", std::move(source)},
          {"options", std::move(options)}};
}

// moby's default device cgroup rules: deny all, then the devices every
// container gets.
nlohmann::json DefaultDeviceRules() {
  nlohmann::json rules = nlohmann::json::array({{{"allow", false}, {"access", "rwm"}}});
  const struct {
    int major, minor;
  } kAllowed[] = {{1, 5}, {1, 3}, {1, 9}, {1, 8}, {5, 0}, {5, 1}, {1, 7}};
  for (const auto& d : kAllowed) {
    rules.push_back({{"allow", true},
                     {"type", "c"},
                     {"major", d.major},
                     {"minor", d.minor},
                     {"access", "rwm"}});
  }
  // /dev/pts/* and /dev/ptmx; /dev/net/tun is not in Docker's list since 20.10.
  rules.push_back({{"allow", true}, {"type", "c"}, {"major", 136}, {"access", "rwm"}});
  rules.push_back({{"allow", true}, {"type", "c"}, {"major", 5}, {"minor", 2}, {"access", "rwm"}});
  return rules;
}

// "uid[:gid]" with numbers, or "root"; names are looked up in the
// container's files at `root` (-1 at create, where only the form is checked).
absl::StatusOr<nlohmann::json> ProcessUser(const std::string& user, int root) {
  if (user.empty() || user == "root" || user == "0") return nlohmann::json{{"uid", 0}, {"gid", 0}};
  if (UserHasNames(user)) {
    if (root >= 0) return LookupUser(root, user);
    return nlohmann::json{{"uid", 0}, {"gid", 0}};  // resolved when it starts
  }
  std::vector<std::string> parts = absl::StrSplit(user, absl::MaxSplits(':', 1));
  uint32_t uid = 0, gid = 0;
  if (!absl::SimpleAtoi(parts[0], &uid) ||
      (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &gid))) {
    return absl::InvalidArgumentError(
        absl::StrCat("Config.User: \"", user, "\": expected user[:group]"));
  }
  if (parts.size() == 1) gid = uid;
  return nlohmann::json{{"uid", uid}, {"gid", gid}};
}

std::vector<std::string> StringList(const nlohmann::json& value) {
  if (!value.is_array()) return {};
  return value.get<std::vector<std::string>>();
}

// HostConfig.Tmpfs {"/path": "size=..,mode=.."}.
void AddTmpfs(const nlohmann::json& host_config, nlohmann::json& mounts) {
  const nlohmann::json tmpfs = host_config.value("Tmpfs", nlohmann::json::object());
  if (!tmpfs.is_object()) return;
  for (const auto& [path, opts] : tmpfs.items()) {
    std::vector<std::string> options = {"nosuid", "nodev", "noexec"};
    if (opts.is_string() && !opts.get<std::string>().empty()) {
      for (absl::string_view o : absl::StrSplit(opts.get<std::string>(), ','))
        options.emplace_back(o);
    }
    mounts.push_back(Mount(path, "tmpfs", "tmpfs", options));
  }
}

// The container's binds, volumes and --mount tmpfs (volume sources are
// their mountpoints, resolved at create).
void AddMountPoints(const std::vector<MountPoint>& mount_points, nlohmann::json& mounts) {
  for (const MountPoint& mp : mount_points) {
    if (mp.type == "tmpfs") {
      std::vector<std::string> options = {"nosuid", "nodev", "noexec"};
      options.insert(options.end(), mp.tmpfs_options.begin(), mp.tmpfs_options.end());
      if (!mp.rw) options.push_back("ro");
      mounts.push_back(Mount(mp.destination, "tmpfs", "tmpfs", options));
      continue;
    }
    mounts.push_back(Mount(
        mp.destination, "bind", mp.source,
        {"rbind", mp.rw ? "rw" : "ro", mp.propagation.empty() ? "rprivate" : mp.propagation}));
  }
}

// Parents before children (a volume at /data, a bind at /data/x), as
// moby sorts by path depth; a user mount replaces a default one at the
// same destination (/etc/hosts, /dev/shm).
nlohmann::json MergeMounts(nlohmann::json defaults, nlohmann::json user) {
  std::stable_sort(user.begin(), user.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    const auto depth = [](const nlohmann::json& m) {
      const std::string d = m["destination"].get<std::string>();
      return std::count(d.begin(), d.end(), '/');
    };
    return depth(a) < depth(b);
  });
  nlohmann::json merged = nlohmann::json::array();
  for (nlohmann::json& m : defaults) {
    const bool replaced = std::any_of(user.begin(), user.end(), [&](const nlohmann::json& u) {
      return u["destination"] == m["destination"];
    });
    if (!replaced) merged.push_back(std::move(m));
  }
  for (nlohmann::json& m : user) merged.push_back(std::move(m));
  return merged;
}

absl::Status AddResources(const nlohmann::json& hc, nlohmann::json& resources) {
  const int64_t memory = hc.value("Memory", int64_t{0});
  const int64_t swap = hc.value("MemorySwap", int64_t{0});
  if (memory < 0) return absl::InvalidArgumentError("HostConfig.Memory: must not be negative");
  if (memory > 0 && memory < 6 * 1024 * 1024) {
    return absl::InvalidArgumentError("HostConfig.Memory: Minimum memory limit allowed is 6MB");
  }
  if (memory > 0) {
    resources["memory"]["limit"] = memory;
    // Docker's default: swap as large as the memory limit.
    if (swap == 0) resources["memory"]["swap"] = memory * 2;
    if (swap > 0) {
      if (swap < memory) {
        return absl::InvalidArgumentError(
            "HostConfig.MemorySwap: Minimum memoryswap limit should be larger than memory limit");
      }
      resources["memory"]["swap"] = swap;
    }
    if (swap == -1) resources["memory"]["swap"] = -1;
  }
  if (const int64_t nano = hc.value("NanoCpus", int64_t{0}); nano != 0) {
    if (nano < 0) return absl::InvalidArgumentError("HostConfig.NanoCpus: must not be negative");
    constexpr int64_t kPeriod = 100000;
    resources["cpu"]["period"] = kPeriod;
    resources["cpu"]["quota"] = nano * kPeriod / 1000000000;
  }
  if (const int64_t shares = hc.value("CpuShares", int64_t{0}); shares > 0) {
    resources["cpu"]["shares"] = shares;
  }
  if (const std::string cpus = hc.value("CpusetCpus", ""); !cpus.empty()) {
    resources["cpu"]["cpus"] = cpus;
  }
  if (const nlohmann::json pids = hc.value("PidsLimit", nlohmann::json());
      pids.is_number_integer() && pids.get<int64_t>() > 0) {
    resources["pids"]["limit"] = pids.get<int64_t>();
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> Rlimits(const nlohmann::json& host_config) {
  nlohmann::json rlimits = nlohmann::json::array();
  const nlohmann::json ulimits = host_config.value("Ulimits", nlohmann::json::array());
  if (!ulimits.is_array()) return rlimits;
  for (const nlohmann::json& u : ulimits) {
    const std::string name = u.value("Name", "");
    if (name.empty()) return absl::InvalidArgumentError("HostConfig.Ulimits: Name is empty");
    rlimits.push_back({{"type", absl::StrCat("RLIMIT_", absl::AsciiStrToUpper(name))},
                       {"soft", u.value("Soft", int64_t{0})},
                       {"hard", u.value("Hard", int64_t{0})}});
  }
  return rlimits;
}

// Docker's default set with CapAdd/CapDrop, or all the kernel knows.
absl::StatusOr<std::vector<std::string>> Capabilities(const nlohmann::json& hc, bool privileged) {
  if (privileged) {
    std::vector<std::string> caps = oci_defaults::AllCapabilities();
    const int last = oci_defaults::LastKernelCapability();
    caps.erase(std::remove_if(caps.begin(), caps.end(),
                              [last](const std::string& cap) {
                                return oci_defaults::CapabilityNumber(cap) > last;
                              }),
               caps.end());
    return caps;
  }
  absl::StatusOr<std::vector<std::string>> merged = oci_defaults::MergeCapabilities(
      oci_defaults::DockerDefaultCapabilities(), StringList(hc.value("CapAdd", nlohmann::json())),
      StringList(hc.value("CapDrop", nlohmann::json())));
  if (!merged.ok()) return Annotate(merged.status(), "HostConfig.CapAdd/CapDrop");
  return *std::move(merged);
}

}  // namespace

absl::StatusOr<nlohmann::json> BuildExecProcess(const Container& c, const nlohmann::json& exec,
                                                int root) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json spec, BuildOciSpec(c, root));
  nlohmann::json process = spec["process"];
  const std::vector<std::string> cmd = StringList(exec.value("Cmd", nlohmann::json()));
  if (cmd.empty()) return absl::InvalidArgumentError("Cmd: No exec command specified");
  process["args"] = cmd;
  process["terminal"] = exec.value("Tty", false);
  std::vector<std::string> env = process["env"].get<std::vector<std::string>>();
  for (const std::string& entry : StringList(exec.value("Env", nlohmann::json()))) {
    const std::string key = entry.substr(0, entry.find('='));
    std::erase_if(env, [&key](const std::string& e) { return e.substr(0, e.find('=')) == key; });
    env.push_back(entry);
  }
  process["env"] = env;
  if (const std::string cwd = exec.value("WorkingDir", ""); !cwd.empty()) process["cwd"] = cwd;
  if (const std::string user = exec.value("User", ""); !user.empty()) {
    GANTRY_ASSIGN_OR_RETURN(process["user"], ProcessUser(user, root));
  }
  if (exec.value("Privileged", false)) {
    GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> caps, Capabilities(c.host_config, true));
    process["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  }
  return process;
}

namespace {
constexpr char kCgroupParent[] = "gantry";
constexpr char kCgroupRoot[] = "/sys/fs/cgroup";
}  // namespace

std::string CgroupPath(const std::string& id) { return absl::StrCat("/", kCgroupParent, "/", id); }

void RemoveEmptyCgroupParents() {
  // cgroup v2 (one hierarchy at the root) and v1 (one per controller);
  // rmdir fails harmlessly where containers remain.
  ::rmdir(absl::StrCat(kCgroupRoot, "/", kCgroupParent).c_str());
  for (const std::string& hierarchy : ListDirectoryIfAny(kCgroupRoot)) {
    ::rmdir(absl::StrCat(kCgroupRoot, "/", hierarchy, "/", kCgroupParent).c_str());
  }
}

absl::StatusOr<nlohmann::json> BuildOciSpec(const Container& c, int root) {
  const nlohmann::json& config = c.config;
  const nlohmann::json& hc = c.host_config;
  const bool privileged = hc.value("Privileged", false);

  std::vector<std::string> security_opts = StringList(hc.value("SecurityOpt", nlohmann::json()));
  bool seccomp = !privileged;
  bool no_new_privileges = false;
  for (const std::string& opt : security_opts) {
    if (opt == "seccomp=unconfined" || opt == "seccomp:unconfined") {
      seccomp = false;
    } else if (opt == "no-new-privileges" || opt == "no-new-privileges:true" ||
               opt == "no-new-privileges=true") {
      no_new_privileges = true;
    } else if (opt == "no-new-privileges:false" || opt == "no-new-privileges=false") {
      no_new_privileges = false;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("HostConfig.SecurityOpt: \"", opt, "\" is not supported"));
    }
  }

  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> caps, Capabilities(hc, privileged));

  GANTRY_ASSIGN_OR_RETURN(nlohmann::json user, ProcessUser(config.value("User", ""), root));
  std::vector<std::string> args = {c.path};
  args.insert(args.end(), c.args.begin(), c.args.end());
  const bool init = hc.value("Init", nlohmann::json(false)).is_boolean() && hc.value("Init", false);
  if (init) {
    // docker run --init: tini, bind-mounted read-only, reaps and forwards
    // signals as PID 1.
    if (::access(kInitBinary, X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "HostConfig.Init: ", kInitBinary, " not found (Debian's tini package provides it)"));
    }
    args.insert(args.begin(), {kInitPath, "--"});
  }
  nlohmann::json process = {
      {"terminal", c.tty()},
      {"user", user},
      {"args", args},
      {"env", StringList(config.value("Env", nlohmann::json()))},
      {"cwd", config.value("WorkingDir", "").empty() ? "/" : config.value("WorkingDir", "")},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"noNewPrivileges", no_new_privileges},
  };
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json rlimits, Rlimits(hc));
  if (!rlimits.empty()) process["rlimits"] = rlimits;

  const int64_t shm_size =
      hc.value("ShmSize", int64_t{0}) > 0 ? hc.value("ShmSize", int64_t{0}) : kDefaultShmSize;
  nlohmann::json mounts = nlohmann::json::array({
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      Mount("/dev/shm", "tmpfs", "shm",
            {"nosuid", "noexec", "nodev", "mode=1777", absl::StrCat("size=", shm_size)}),
      Mount("/etc/resolv.conf", "bind", c.resolv_conf_path, {"rbind", "rprivate"}),
      Mount("/etc/hostname", "bind", c.hostname_path, {"rbind", "rprivate"}),
      Mount("/etc/hosts", "bind", c.hosts_path, {"rbind", "rprivate"}),
  });
  nlohmann::json user_mounts = nlohmann::json::array();
  if (init) user_mounts.push_back(Mount(kInitPath, "bind", kInitBinary, {"bind", "ro"}));
  AddTmpfs(hc, user_mounts);
  AddMountPoints(c.mounts, user_mounts);
  mounts = MergeMounts(std::move(mounts), std::move(user_mounts));

  const std::string network_mode = hc.value("NetworkMode", "default");
  nlohmann::json namespaces = nlohmann::json::array(
      {{{"type", "mount"}}, {{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}});
  if (network_mode == "host") {
    // The host's network, so also its hostname, as Docker does.
  } else if (!c.sandbox_key.empty()) {
    // The namespace engined set up with the container's endpoints (or
    // another container's, for container:<id>).
    namespaces.push_back({{"type", "network"}, {"path", c.sandbox_key}});
  } else {
    namespaces.push_back({{"type", "network"}});
  }

  nlohmann::json resources = {
      {"devices", privileged ? nlohmann::json::array({{{"allow", true}, {"access", "rwm"}}})
                             : DefaultDeviceRules()}};
  GANTRY_RETURN_IF_ERROR(AddResources(hc, resources));

  nlohmann::json linux = {
      {"namespaces", namespaces},
      {"resources", resources},
      {"cgroupsPath", CgroupPath(c.id)},
  };
  if (!privileged) {
    linux["maskedPaths"] = kMaskedPaths;
    linux["readonlyPaths"] = kReadonlyPaths;
  }
  if (seccomp) {
    absl::StatusOr<nlohmann::json> profile =
        oci_defaults::DockerDefaultSeccomp(caps, oci_defaults::SeccompPlatform::Host());
    if (!profile.ok()) return Annotate(profile.status(), "seccomp profile");
    linux["seccomp"] = *std::move(profile);
  }

  nlohmann::json spec = {
      {"ociVersion", "1.0.2"},
      {"process", process},
      {"root", {{"path", "rootfs"}, {"readonly", hc.value("ReadonlyRootfs", false)}}},
      {"mounts", mounts},
      {"linux", linux},
  };
  if (network_mode != "host") {
    spec["hostname"] =
        config.value("Hostname", "").empty() ? c.ShortId() : config.value("Hostname", "");
  }
  return spec;
}

}  // namespace gantry::engined
