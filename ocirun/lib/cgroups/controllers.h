// One function per controller, each writing the v1 or v2 files of its
// directory. The manager calls the ones whose controller the host has.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "common/errors.h"
#include "ocirun/lib/cgroups/manager.h"
#include "ocirun/lib/spec.h"

namespace ocirun::cgroups {

absl::Status SetMemory(const Dir& dir, const Resources::Memory& memory);
absl::Status SetCpu(const Dir& dir, const Resources::Cpu& cpu);
absl::Status SetCpuset(const Dir& dir, const Resources::Cpu& cpu);
absl::Status SetPids(const Dir& dir, int64_t limit);
absl::Status SetBlkio(const Dir& dir, const Resources::BlockIo& io);
absl::Status SetHugetlb(const Dir& dir, const std::vector<Resources::HugepageLimit>& limits);
// Whether `r` limits anything (device rules aside), i.e. needs a cgroup.
bool HasLimits(const Resources& r);

// The rules a container gets: config.json's, then the devices every container
// needs and those listed in linux.devices (as runc's AllowedDevices).
std::vector<DeviceRule> EffectiveDeviceRules(const std::vector<DeviceRule>& rules,
                                             const std::vector<Device>& devices);
absl::Status SetDevices(const Dir& dir, const std::vector<DeviceRule>& rules);
absl::Status SetFrozen(const Dir& dir, bool frozen);
absl::StatusOr<bool> ReadFrozen(const Dir& dir);

void MemoryStats(const Dir& dir, nlohmann::json& out);
void CpuStats(const Dir& dir, nlohmann::json& out);
void PidsStats(const Dir& dir, nlohmann::json& out);
void BlkioStats(const Dir& dir, nlohmann::json& out);
void HugetlbStats(const Dir& dir, nlohmann::json& out);

// runc reads 0 in most resource fields as "not set", and Docker sends 0 for
// everything the user did not set: such a field is dropped before writing.
template <typename T>
void ZeroMeansUnset(std::optional<T>& value) {
  if (value && *value == 0) value.reset();
}

// Shared file helpers for the controller files.
absl::Status WriteKnob(const Dir& dir, const std::string& file, const std::string& value);
std::string ReadKnob(const Dir& dir, const std::string& file);
// Parses "key value" lines (memory.stat, cpu.stat).
std::map<std::string, uint64_t> ReadFlatKeyed(const Dir& dir, const std::string& file);

}  // namespace ocirun::cgroups
