#include "absl/strings/str_cat.h"
#include "ocirun/lib/cgroups/controllers.h"
#include "ocirun/lib/cgroups/device_filter.h"

namespace ocirun::cgroups {

std::vector<DeviceRule> EffectiveDeviceRules(const std::vector<DeviceRule>& rules,
                                             const std::vector<Device>& devices) {
  std::vector<DeviceRule> out = rules;
  auto allow = [&](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                   const char* access) {
    out.push_back(DeviceRule{true, type, major, minor, access});
  };
  allow("c", std::nullopt, std::nullopt, "m");  // mknod of any device; access stays denied
  allow("b", std::nullopt, std::nullopt, "m");
  allow("c", 1, 3, "rwm");               // /dev/null
  allow("c", 1, 8, "rwm");               // /dev/random
  allow("c", 1, 7, "rwm");               // /dev/full
  allow("c", 5, 0, "rwm");               // /dev/tty
  allow("c", 1, 5, "rwm");               // /dev/zero
  allow("c", 1, 9, "rwm");               // /dev/urandom
  allow("c", 136, std::nullopt, "rwm");  // /dev/pts/*
  allow("c", 5, 2, "rwm");               // /dev/ptmx
  allow("c", 10, 200, "rwm");            // /dev/net/tun
  for (const auto& d : devices) {
    if (d.type == 'p') continue;
    allow(d.type == 'b' ? "b" : "c", d.major, d.minor, "rwm");
  }
  return out;
}

absl::Status SetDevices(const Dir& dir, const std::vector<DeviceRule>& rules) {
  if (rules.empty()) return absl::OkStatus();
  if (dir.version == Version::kV2) return AttachDeviceFilter(dir.path, rules);
  for (const auto& rule : rules) {
    std::string major = rule.major ? std::to_string(*rule.major) : "*";
    std::string minor = rule.minor ? std::to_string(*rule.minor) : "*";
    std::string entry =
        rule.type == "a" ? "a" : absl::StrCat(rule.type, " ", major, ":", minor, " ", rule.access);
    GANTRY_RETURN_IF_ERROR(WriteKnob(dir, rule.allow ? "devices.allow" : "devices.deny", entry));
  }
  return absl::OkStatus();
}

}  // namespace ocirun::cgroups
