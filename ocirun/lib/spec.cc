#include "ocirun/lib/spec.h"

#include <sched.h>
#include <sys/resource.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "ocirun/lib/capabilities.h"

namespace ocirun {

using gantry::JsonReader;
using nlohmann::json;

const std::map<std::string, int>& NamespaceTypes() {
  static const std::map<std::string, int> types = {
      {"pid", CLONE_NEWPID},       {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
      {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
      {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
  };
  return types;
}

const std::map<std::string, int>& RlimitTypes() {
  static const std::map<std::string, int> types = {
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  return types;
}

const Namespace* Linux::FindNamespace(int clone_flag) const {
  for (const auto& ns : namespaces)
    if (ns.clone_flag == clone_flag) return &ns;
  return nullptr;
}

namespace {

void ParseCapabilitySet(JsonReader& r, const char* key, std::vector<std::string>& out) {
  r.Optional(key, out);
  for (const auto& name : out) {
    if (!IsKnownCapability(name)) {
      r.Error(key, absl::StrCat("unknown capability \"", name, "\""));
      return;
    }
  }
}

void ParseUser(JsonReader r, User& user) {
  r.Optional("uid", user.uid).Optional("gid", user.gid).Optional("umask", user.umask);
  r.Optional("additionalGids", user.additional_gids);
}

void ParseProcessInto(JsonReader& r, Process& p) {
  r.Optional("terminal", p.terminal);
  if (r.Has("consoleSize")) {
    ConsoleSize size;
    r.Object("consoleSize").Required("height", size.height).Required("width", size.width);
    p.console_size = size;
  }
  ParseUser(r.Object("user"), p.user);
  r.Optional("args", p.args).Optional("env", p.env).Required("cwd", p.cwd);
  if (r.ok() && p.args.empty()) r.Error("args", "must contain at least one element");
  if (r.ok() && !absl::StartsWith(p.cwd, "/")) r.Error("cwd", "must be an absolute path");
  if (r.Has("capabilities")) {
    Capabilities caps;
    JsonReader c = r.Object("capabilities");
    ParseCapabilitySet(c, "bounding", caps.bounding);
    ParseCapabilitySet(c, "effective", caps.effective);
    ParseCapabilitySet(c, "inheritable", caps.inheritable);
    ParseCapabilitySet(c, "permitted", caps.permitted);
    ParseCapabilitySet(c, "ambient", caps.ambient);
    p.capabilities = std::move(caps);
  }
  auto rlimits = r.Array("rlimits");
  for (size_t i = 0; i < rlimits.size() && r.ok(); ++i) {
    JsonReader e = r.Element(*rlimits[i], i, "rlimits");
    Rlimit rl;
    e.Required("type", rl.type).Required("hard", rl.hard).Required("soft", rl.soft);
    auto it = RlimitTypes().find(rl.type);
    if (e.ok() && it == RlimitTypes().end())
      e.Error("type", absl::StrCat("unknown rlimit \"", rl.type, "\""));
    if (e.ok()) rl.resource = it->second;
    p.rlimits.push_back(std::move(rl));
  }
  r.Optional("noNewPrivileges", p.no_new_privileges);
  r.Optional("apparmorProfile", p.apparmor_profile).Optional("oomScoreAdj", p.oom_score_adj);
  r.Optional("selinuxLabel", p.selinux_label);
}

void ParseHookList(JsonReader& hooks, const char* key, std::vector<Hook>& out) {
  auto items = hooks.Array(key);
  for (size_t i = 0; i < items.size() && hooks.ok(); ++i) {
    JsonReader e = hooks.Element(*items[i], i, key);
    Hook h;
    e.Required("path", h.path).Optional("args", h.args).Optional("env", h.env);
    e.Optional("timeout", h.timeout);
    if (e.ok() && !absl::StartsWith(h.path, "/")) e.Error("path", "must be an absolute path");
    if (e.ok() && h.timeout && *h.timeout <= 0) e.Error("timeout", "must be positive");
    out.push_back(std::move(h));
  }
}

void ParseIdMappings(JsonReader& r, const char* key, std::vector<IdMapping>& out) {
  auto items = r.Array(key);
  for (size_t i = 0; i < items.size() && r.ok(); ++i) {
    JsonReader e = r.Element(*items[i], i, key);
    IdMapping m;
    e.Required("containerID", m.container_id).Required("hostID", m.host_id);
    e.Required("size", m.size);
    out.push_back(m);
  }
}

template <typename T>
void ParseThrottle(JsonReader& r, const char* key, std::vector<T>& out) {
  auto items = r.Array(key);
  for (size_t i = 0; i < items.size() && r.ok(); ++i) {
    JsonReader e = r.Element(*items[i], i, key);
    T d;
    e.Required("major", d.major).Required("minor", d.minor);
    if constexpr (std::is_same_v<T, ThrottleDevice>) {
      e.Required("rate", d.rate);
    } else {
      e.Optional("weight", d.weight).Optional("leafWeight", d.leaf_weight);
    }
    out.push_back(d);
  }
}

void ParseResourcesInto(JsonReader& r, Resources& res) {
  JsonReader mem = r.Object("memory");
  mem.Optional("limit", res.memory.limit).Optional("reservation", res.memory.reservation);
  mem.Optional("swap", res.memory.swap).Optional("kernel", res.memory.kernel);
  mem.Optional("kernelTCP", res.memory.kernel_tcp).Optional("swappiness", res.memory.swappiness);
  mem.Optional("disableOOMKiller", res.memory.disable_oom_killer);

  JsonReader cpu = r.Object("cpu");
  cpu.Optional("shares", res.cpu.shares).Optional("quota", res.cpu.quota);
  cpu.Optional("period", res.cpu.period).Optional("realtimeRuntime", res.cpu.realtime_runtime);
  cpu.Optional("realtimePeriod", res.cpu.realtime_period);
  cpu.Optional("cpus", res.cpu.cpus).Optional("mems", res.cpu.mems);

  if (r.Has("pids")) {
    int64_t limit = 0;
    r.Object("pids").Required("limit", limit);
    res.pids_limit = limit;
  }

  JsonReader bio = r.Object("blockIO");
  bio.Optional("weight", res.block_io.weight).Optional("leafWeight", res.block_io.leaf_weight);
  ParseThrottle(bio, "weightDevice", res.block_io.weight_device);
  ParseThrottle(bio, "throttleReadBpsDevice", res.block_io.throttle_read_bps);
  ParseThrottle(bio, "throttleWriteBpsDevice", res.block_io.throttle_write_bps);
  ParseThrottle(bio, "throttleReadIOPSDevice", res.block_io.throttle_read_iops);
  ParseThrottle(bio, "throttleWriteIOPSDevice", res.block_io.throttle_write_iops);

  auto huge = r.Array("hugepageLimits");
  for (size_t i = 0; i < huge.size() && r.ok(); ++i) {
    JsonReader e = r.Element(*huge[i], i, "hugepageLimits");
    Resources::HugepageLimit h;
    e.Required("pageSize", h.page_size).Required("limit", h.limit);
    res.hugepage_limits.push_back(std::move(h));
  }

  auto devices = r.Array("devices");
  for (size_t i = 0; i < devices.size() && r.ok(); ++i) {
    JsonReader e = r.Element(*devices[i], i, "devices");
    DeviceRule d;
    e.Required("allow", d.allow).Optional("type", d.type).Optional("major", d.major);
    e.Optional("minor", d.minor).Optional("access", d.access);
    if (e.ok() && d.type != "a" && d.type != "c" && d.type != "b")
      e.Error("type", absl::StrCat("invalid device type \"", d.type, "\" (want a, c or b)"));
    if (e.ok() && d.access.find_first_not_of("rwm") != std::string::npos)
      e.Error("access", absl::StrCat("invalid access \"", d.access, "\" (want r, w, m)"));
    res.devices.push_back(std::move(d));
  }
  r.Optional("unified", res.unified);
}

void ParseLinux(JsonReader r, Linux& lx) {
  auto namespaces = r.Array("namespaces");
  for (size_t i = 0; i < namespaces.size() && r.ok(); ++i) {
    JsonReader e = r.Element(*namespaces[i], i, "namespaces");
    Namespace ns;
    e.Required("type", ns.type).Optional("path", ns.path);
    if (!e.ok()) break;
    auto it = NamespaceTypes().find(ns.type);
    if (it == NamespaceTypes().end()) {
      e.Error("type", absl::StrCat("unknown namespace type \"", ns.type, "\""));
      break;
    }
    ns.clone_flag = it->second;
    if (lx.FindNamespace(ns.clone_flag)) {
      e.Error("type", absl::StrCat("namespace \"", ns.type, "\" given more than once"));
      break;
    }
    if (!ns.path.empty() && !absl::StartsWith(ns.path, "/")) {
      e.Error("path", "must be an absolute path");
      break;
    }
    lx.namespaces.push_back(std::move(ns));
  }
  ParseIdMappings(r, "uidMappings", lx.uid_mappings);
  ParseIdMappings(r, "gidMappings", lx.gid_mappings);
  if (r.ok() && !lx.uid_mappings.empty() && !lx.FindNamespace(CLONE_NEWUSER))
    r.Error("uidMappings", "user namespace mappings given without a user namespace");

  auto devices = r.Array("devices");
  for (size_t i = 0; i < devices.size() && r.ok(); ++i) {
    JsonReader e = r.Element(*devices[i], i, "devices");
    Device d;
    std::string type;
    e.Required("type", type).Required("path", d.path).Optional("major", d.major);
    e.Optional("minor", d.minor).Optional("fileMode", d.file_mode).Optional("uid", d.uid);
    e.Optional("gid", d.gid);
    if (e.ok() && (type.size() != 1 || std::string("cubp").find(type[0]) == std::string::npos))
      e.Error("type", absl::StrCat("invalid device type \"", type, "\" (want c, u, b or p)"));
    if (e.ok() && !absl::StartsWith(d.path, "/dev/"))
      e.Error("path", absl::StrCat("device path \"", d.path, "\" must be under /dev"));
    if (e.ok()) d.type = type[0];
    lx.devices.push_back(std::move(d));
  }
  r.Optional("cgroupsPath", lx.cgroups_path);
  if (r.Has("resources")) {
    Resources res;
    JsonReader rr = r.Object("resources");
    ParseResourcesInto(rr, res);
    lx.resources = std::move(res);
  }
  r.Optional("rootfsPropagation", lx.rootfs_propagation);
  if (r.ok() && !lx.rootfs_propagation.empty()) {
    static const char* kValid[] = {"private", "rprivate", "slave",      "rslave",
                                   "shared",  "rshared",  "unbindable", "runbindable"};
    bool valid = false;
    for (const char* v : kValid) valid |= lx.rootfs_propagation == v;
    if (!valid)
      r.Error("rootfsPropagation",
              absl::StrCat("invalid propagation \"", lx.rootfs_propagation, "\""));
  }
  r.Optional("maskedPaths", lx.masked_paths).Optional("readonlyPaths", lx.readonly_paths);
  r.Optional("sysctl", lx.sysctl).Optional("mountLabel", lx.mount_label);
  if (r.Has("seccomp")) lx.seccomp = r.value()["seccomp"];
  if (r.Has("personality")) {
    std::string domain;
    r.Object("personality").Required("domain", domain);
    if (r.ok() && domain != "LINUX" && domain != "LINUX32")
      r.Error("personality", absl::StrCat("unknown personality domain \"", domain, "\""));
    lx.personality_domain = domain;
  }
  lx.has_intel_rdt = r.Has("intelRdt");
}

}  // namespace

absl::StatusOr<Process> ParseProcess(const json& doc, const std::string& path) {
  JsonReader r(doc, path);
  Process p;
  ParseProcessInto(r, p);
  if (!r.ok()) return r.status();
  return p;
}

absl::StatusOr<Resources> ParseResources(const json& doc, const std::string& path) {
  JsonReader r(doc, path);
  Resources res;
  ParseResourcesInto(r, res);
  if (!r.ok()) return r.status();
  return res;
}

absl::StatusOr<Spec> ParseSpec(const json& doc) {
  JsonReader r(doc, "");
  Spec spec;
  r.Required("ociVersion", spec.oci_version);
  if (r.Has("process")) {
    Process p;
    JsonReader pr = r.Object("process");
    ParseProcessInto(pr, p);
    spec.process = std::move(p);
  }
  JsonReader root = r.Object("root");
  root.Required("path", spec.root.path).Optional("readonly", spec.root.readonly);
  r.Optional("hostname", spec.hostname).Optional("domainname", spec.domainname);

  auto mounts = r.Array("mounts");
  for (size_t i = 0; i < mounts.size() && r.ok(); ++i) {
    JsonReader e = r.Element(*mounts[i], i, "mounts");
    Mount m;
    e.Required("destination", m.destination).Optional("type", m.type);
    e.Optional("source", m.source).Optional("options", m.options);
    if (e.ok() && !absl::StartsWith(m.destination, "/"))
      e.Error("destination", absl::StrCat("\"", m.destination, "\" is not an absolute path"));
    spec.mounts.push_back(std::move(m));
  }

  JsonReader hooks = r.Object("hooks");
  ParseHookList(hooks, "prestart", spec.hooks.prestart);
  ParseHookList(hooks, "createRuntime", spec.hooks.create_runtime);
  ParseHookList(hooks, "createContainer", spec.hooks.create_container);
  ParseHookList(hooks, "startContainer", spec.hooks.start_container);
  ParseHookList(hooks, "poststart", spec.hooks.poststart);
  ParseHookList(hooks, "poststop", spec.hooks.poststop);
  r.Optional("annotations", spec.annotations);
  ParseLinux(r.Object("linux"), spec.linux);
  if (!r.ok()) return r.status();

  if (!spec.hostname.empty() && !spec.linux.FindNamespace(CLONE_NEWUTS))
    return absl::InvalidArgumentError("hostname: setting a hostname requires a uts namespace");
  return spec;
}

absl::StatusOr<Spec> LoadSpec(const std::string& bundle_dir, std::string* text) {
  std::string path = absl::StrCat(bundle_dir, "/config.json");
  auto content = gantry::ReadFile(path);
  if (!content.ok()) {
    if (content.status().code() == absl::StatusCode::kNotFound)
      return absl::NotFoundError(absl::StrCat(path, ": no such file (is --bundle right?)"));
    return content.status();
  }
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json doc, gantry::ParseJson(*content, path));
  auto spec = ParseSpec(doc);
  if (!spec.ok()) return gantry::Annotate(spec.status(), "config.json");
  if (text) *text = std::move(*content);
  return spec;
}

}  // namespace ocirun
