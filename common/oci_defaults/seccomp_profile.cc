#include "common/oci_defaults/seccomp_profile.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::oci_defaults {

// Generated at build time from docker_seccomp_default.json.
extern const char kDockerSeccompDefaultJson[];

namespace {

// Profile arch names -> libseccomp's, to pick the archMap entry (moby's
// nativeToSeccomp).
const std::map<std::string, std::string>& SeccompArchOf() {
  static const std::map<std::string, std::string> kArches = {
      {"x86", "SCMP_ARCH_X86"},           {"amd64", "SCMP_ARCH_X86_64"},
      {"arm", "SCMP_ARCH_ARM"},           {"arm64", "SCMP_ARCH_AARCH64"},
      {"mips64", "SCMP_ARCH_MIPS64"},     {"mips64n32", "SCMP_ARCH_MIPS64N32"},
      {"mipsel64", "SCMP_ARCH_MIPSEL64"}, {"mipsel64n32", "SCMP_ARCH_MIPSEL64N32"},
      {"mipsel", "SCMP_ARCH_MIPSEL"},     {"ppc", "SCMP_ARCH_PPC"},
      {"ppc64", "SCMP_ARCH_PPC64"},       {"ppc64le", "SCMP_ARCH_PPC64LE"},
      {"riscv64", "SCMP_ARCH_RISCV64"},   {"s390", "SCMP_ARCH_S390"},
      {"s390x", "SCMP_ARCH_S390X"},
  };
  return kArches;
}

// uname(2)'s machine -> the profile's arch name.
std::string ProfileArch(const std::string& machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64" || machine == "arm64") return "arm64";
  if (machine.size() == 4 && machine[0] == 'i' && absl::EndsWith(machine, "86")) return "x86";
  if (absl::StartsWith(machine, "arm")) return "arm";
  return machine;  // ppc64le, s390x, riscv64, mips64 ... are spelled alike
}

bool Contains(const nlohmann::json& list, const std::string& s) {
  if (!list.is_array()) return false;
  return std::any_of(list.begin(), list.end(),
                     [&](const nlohmann::json& v) { return v.is_string() && v == s; });
}

absl::StatusOr<bool> KernelAtLeast(const nlohmann::json& min, const SeccompPlatform& platform,
                                   const std::string& field) {
  int major = 0, minor = 0;
  if (!min.is_string() || std::sscanf(min.get<std::string>().c_str(), "%d.%d", &major, &minor) != 2)
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": expected a kernel version \"major.minor\", got ", min.dump()));
  return platform.kernel_major > major ||
         (platform.kernel_major == major && platform.kernel_minor >= minor);
}

// moby's filter: excludes first (any match drops the rule), then includes
// (every condition must hold).
absl::StatusOr<bool> RuleApplies(const nlohmann::json& rule, const std::vector<std::string>& caps,
                                 const SeccompPlatform& platform, const std::string& field) {
  auto has_cap = [&](const nlohmann::json& c) {
    return c.is_string() && std::find(caps.begin(), caps.end(), c.get<std::string>()) != caps.end();
  };
  if (auto ex = rule.find("excludes"); ex != rule.end() && ex->is_object()) {
    if (Contains(ex->value("arches", nlohmann::json()), platform.arch)) return false;
    for (const auto& c : ex->value("caps", nlohmann::json::array()))
      if (has_cap(c)) return false;
    if (auto min = ex->find("minKernel"); min != ex->end() && !min->is_null()) {
      GANTRY_ASSIGN_OR_RETURN(bool newer,
                              KernelAtLeast(*min, platform, field + ".excludes.minKernel"));
      if (newer) return false;
    }
  }
  if (auto in = rule.find("includes"); in != rule.end() && in->is_object()) {
    if (auto arches = in->find("arches"); arches != in->end() && arches->is_array() &&
                                          !arches->empty() && !Contains(*arches, platform.arch))
      return false;
    for (const auto& c : in->value("caps", nlohmann::json::array()))
      if (!has_cap(c)) return false;
    if (auto min = in->find("minKernel"); min != in->end() && !min->is_null()) {
      GANTRY_ASSIGN_OR_RETURN(bool newer,
                              KernelAtLeast(*min, platform, field + ".includes.minKernel"));
      if (!newer) return false;
    }
  }
  return true;
}

}  // namespace

SeccompPlatform SeccompPlatform::Host() {
  SeccompPlatform p;
  struct utsname u;
  if (::uname(&u) == 0) {
    p.arch = ProfileArch(u.machine);
    std::sscanf(u.release, "%d.%d", &p.kernel_major, &p.kernel_minor);
  }
  return p;
}

const nlohmann::json& DockerDefaultSeccompProfile() {
  static const nlohmann::json kProfile = nlohmann::json::parse(kDockerSeccompDefaultJson);
  return kProfile;
}

absl::StatusOr<nlohmann::json> SeccompFromProfile(const nlohmann::json& profile,
                                                  const std::vector<std::string>& bounding_caps,
                                                  const SeccompPlatform& platform) {
  if (!profile.is_object()) return absl::InvalidArgumentError("seccomp profile: expected object");
  auto has = [&](const char* key) {
    auto it = profile.find(key);
    return it != profile.end() && !it->is_null() && !(it->is_array() && it->empty());
  };
  if (has("architectures") && has("archMap"))
    return absl::InvalidArgumentError(
        "seccomp profile: give either \"architectures\" or \"archMap\", not both");
  nlohmann::json out = nlohmann::json::object();
  out["defaultAction"] = profile.value("defaultAction", "");
  for (const char* key : {"defaultErrnoRet", "listenerPath", "listenerMetadata", "flags"})
    if (has(key)) out[key] = profile[key];

  nlohmann::json arches = has("architectures") ? profile["architectures"] : nlohmann::json::array();
  auto native = SeccompArchOf().find(platform.arch);
  if (has("archMap") && native != SeccompArchOf().end()) {
    for (const auto& entry : profile["archMap"]) {
      if (entry.value("architecture", "") != native->second) continue;
      arches.push_back(native->second);
      if (auto subs = entry.find("subArchitectures"); subs != entry.end() && subs->is_array())
        for (const auto& s : *subs) arches.push_back(s);
      break;
    }
  }
  if (!arches.empty()) out["architectures"] = arches;

  nlohmann::json syscalls = nlohmann::json::array();
  const nlohmann::json& rules = profile.value("syscalls", nlohmann::json::array());
  for (size_t i = 0; i < rules.size(); ++i) {
    const nlohmann::json& rule = rules[i];
    std::string field = absl::StrCat("seccomp profile: syscalls[", i, "]");
    if (!rule.is_object()) return absl::InvalidArgumentError(field + ": expected object");
    GANTRY_ASSIGN_OR_RETURN(bool applies, RuleApplies(rule, bounding_caps, platform, field));
    if (!applies) continue;
    bool has_name = rule.contains("name") && !rule["name"].is_null();
    bool has_names = rule.contains("names") && rule["names"].is_array() && !rule["names"].empty();
    if (has_name && has_names)
      return absl::InvalidArgumentError(field + ": give either \"name\" or \"names\", not both");
    nlohmann::json call = nlohmann::json::object();
    call["names"] = has_name ? nlohmann::json::array({rule["name"]})
                             : rule.value("names", nlohmann::json::array());
    call["action"] = rule.value("action", "");
    if (rule.contains("errnoRet") && !rule["errnoRet"].is_null())
      call["errnoRet"] = rule["errnoRet"];
    if (rule.contains("args") && rule["args"].is_array() && !rule["args"].empty())
      call["args"] = rule["args"];
    syscalls.push_back(std::move(call));
  }
  out["syscalls"] = std::move(syscalls);
  return out;
}

absl::StatusOr<nlohmann::json> DockerDefaultSeccomp(const std::vector<std::string>& bounding_caps,
                                                    const SeccompPlatform& platform) {
  return SeccompFromProfile(DockerDefaultSeccompProfile(), bounding_caps, platform);
}

}  // namespace gantry::oci_defaults
