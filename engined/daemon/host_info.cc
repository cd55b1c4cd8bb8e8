#include "engined/daemon/host_info.h"

#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/stored_uuid.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace gantry::engined {
namespace {

bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

std::string Unquote(absl::string_view value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);
  }
  return std::string(value);
}

bool SysctlIsOne(const std::string& path) {
  absl::StatusOr<std::string> value = ReadFile(path);
  return value.ok() && absl::StripAsciiWhitespace(*value) == "1";
}

int64_t ReadMemTotal() {
  absl::StatusOr<std::string> meminfo = ReadFile("/proc/meminfo");
  if (!meminfo.ok()) return 0;
  for (absl::string_view line : absl::StrSplit(*meminfo, '\n')) {
    if (!absl::ConsumePrefix(&line, "MemTotal:")) continue;
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    int64_t kib = 0;
    if (absl::SimpleAtoi(line, &kib)) return kib * 1024;
  }
  return 0;
}

void ReadCgroupFeatures(HostInfo& info) {
  struct statfs fs;
  if (::statfs("/sys/fs/cgroup", &fs) == 0 &&
      static_cast<uint64_t>(fs.f_type) == CGROUP2_SUPER_MAGIC) {
    info.cgroup_version = 2;
    absl::StatusOr<std::string> controllers = ReadFile("/sys/fs/cgroup/cgroup.controllers");
    std::vector<std::string> names;
    if (controllers.ok())
      names = absl::StrSplit(*controllers, absl::ByAnyChar(" \n"), absl::SkipEmpty());
    auto has = [&](absl::string_view name) {
      for (const std::string& n : names)
        if (n == name) return true;
      return false;
    };
    info.memory_limit = has("memory");
    // memory.swap.max exists on children only; the kernel builds it with memory.
    info.swap_limit = info.memory_limit;
    info.cpu_cfs_period = info.cpu_cfs_quota = info.cpu_shares = has("cpu");
    info.cpuset = has("cpuset");
    info.pids_limit = has("pids");
    return;
  }
  info.cgroup_version = 1;
  info.memory_limit = Exists("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  info.swap_limit = Exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
  info.cpu_cfs_period = Exists("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  info.cpu_cfs_quota = Exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  info.cpu_shares = Exists("/sys/fs/cgroup/cpu/cpu.shares");
  info.cpuset = Exists("/sys/fs/cgroup/cpuset/cpuset.cpus");
  info.pids_limit = Exists("/sys/fs/cgroup/pids/pids.max");
}

}  // namespace

void ParseOsRelease(absl::string_view text, HostInfo& info) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.first == "PRETTY_NAME") info.operating_system = Unquote(kv.second);
    if (kv.first == "VERSION_ID") info.os_version = Unquote(kv.second);
  }
}

std::string GoArch(absl::string_view machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (absl::StartsWith(machine, "armv")) return "arm";
  if (machine == "i386" || machine == "i686") return "386";
  return std::string(machine);  // ppc64le, s390x, riscv64 are spelled alike
}

HostInfo ReadHostInfo() {
  HostInfo info;
  struct utsname uts;
  if (::uname(&uts) == 0) {
    info.hostname = uts.nodename;
    info.kernel_version = uts.release;
    info.architecture = uts.machine;
    info.go_arch = GoArch(uts.machine);
  }
  absl::StatusOr<std::string> os_release = ReadFile("/etc/os-release");
  if (!os_release.ok()) os_release = ReadFile("/usr/lib/os-release");
  if (os_release.ok()) ParseOsRelease(*os_release, info);
  info.ncpu = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  info.mem_total = ReadMemTotal();
  ReadCgroupFeatures(info);
  info.ipv4_forwarding = SysctlIsOne("/proc/sys/net/ipv4/ip_forward");
  info.bridge_nf_iptables = SysctlIsOne("/proc/sys/net/bridge/bridge-nf-call-iptables");
  info.bridge_nf_ip6tables = SysctlIsOne("/proc/sys/net/bridge/bridge-nf-call-ip6tables");
  return info;
}

absl::StatusOr<std::string> LoadOrCreateEngineId(const std::string& data_root) {
  return LoadOrCreateStoredUuid(absl::StrCat(data_root, "/engine-id"));
}

}  // namespace gantry::engined
