// The OCI runtime spec (config.json) as C++ values, parsed and validated with
// errors that name the field: "config.json: process.args: expected array of strings".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace ocirun {

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t hard = 0;
  uint64_t soft = 0;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::string selinux_label;
};

struct Root {
  std::string path;
  bool readonly = false;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Namespace {
  int clone_flag = 0;  // CLONE_NEW*
  std::string type;    // "pid"
  std::string path;    // join this one instead of creating a new one
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Device {
  char type = 'c';  // c, u, b or p
  std::string path;
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceRule {
  bool allow = false;
  std::string type = "a";  // a, c or b
  std::optional<int64_t> major, minor;
  std::string access = "rwm";
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};
struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

// linux.resources: every field optional so `update` can change a subset.
struct Resources {
  struct Memory {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disable_oom_killer;
  } memory;
  struct Cpu {
    std::optional<uint64_t> shares, period, realtime_period;
    std::optional<int64_t> quota, realtime_runtime;
    std::string cpus, mems;
  } cpu;
  std::optional<int64_t> pids_limit;
  struct BlockIo {
    std::optional<uint16_t> weight, leaf_weight;
    std::vector<WeightDevice> weight_device;
    std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
        throttle_write_iops;
  } block_io;
  struct HugepageLimit {
    std::string page_size;  // "2MB"
    uint64_t limit = 0;
  };
  std::vector<HugepageLimit> hugepage_limits;
  std::vector<DeviceRule> devices;
  std::map<std::string, std::string> unified;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  nlohmann::json seccomp;  // null when absent
  std::string mount_label;
  std::optional<std::string> personality_domain;
  bool has_intel_rdt = false;

  const Namespace* FindNamespace(int clone_flag) const;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  Root root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux;
};

// Parses and validates a config.json document. `source` prefixes errors.
absl::StatusOr<Spec> ParseSpec(const nlohmann::json& doc);
// Reads <bundle_dir>/config.json; `text`, when given, receives the file as read.
absl::StatusOr<Spec> LoadSpec(const std::string& bundle_dir, std::string* text = nullptr);

// Parses a bare linux.resources object (as `update -r` takes).
absl::StatusOr<Resources> ParseResources(const nlohmann::json& doc, const std::string& path);

absl::StatusOr<Process> ParseProcess(const nlohmann::json& doc, const std::string& path);

// The names runc accepts, for validation and `features`.
const std::map<std::string, int>& NamespaceTypes();
const std::map<std::string, int>& RlimitTypes();

}  // namespace ocirun
