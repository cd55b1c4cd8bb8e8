#include "engined/containers/container_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::engined {
namespace {

// The host's CPU time in nanoseconds, as dockerd's getSystemCPUUsage: the
// first seven fields of /proc/stat's "cpu" line, in clock ticks.
uint64_t SystemCpuNanos() {
  std::ifstream stat("/proc/stat");
  std::string label;
  stat >> label;
  uint64_t total = 0;
  for (int i = 0; i < 7; ++i) {
    uint64_t ticks = 0;
    stat >> ticks;
    total += ticks;
  }
  return total * (1000000000 / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)));
}

uint64_t HostMemory() {
  return static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
         static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

absl::StatusOr<StatsSample> SampleStats(ContdClient& contd, const std::string& id) {
  contd::v1::MetricsRequest request;
  request.add_filters(absl::StrCat("id==", id));
  contd::v1::MetricsResponse response;
  auto context = ContdClient::Context();
  GANTRY_RETURN_IF_ERROR(FromGrpc(contd.tasks().Metrics(context.get(), request, &response), id));
  if (response.metrics().empty()) {
    return absl::NotFoundError(absl::StrCat("container ", id, " is not running"));
  }
  const nlohmann::json data =
      nlohmann::json::parse(response.metrics(0).data().value(), nullptr, false);
  if (!data.is_object()) return absl::InternalError(absl::StrCat(id, ": unreadable stats"));
  StatsSample sample;
  sample.read = absl::Now();
  const nlohmann::json cpu = data.value("cpu", nlohmann::json::object());
  const nlohmann::json usage = cpu.value("usage", nlohmann::json::object());
  sample.cpu_stats = {
      {"cpu_usage",
       {{"total_usage", usage.value("total", uint64_t{0})},
        {"usage_in_kernelmode", usage.value("kernel", uint64_t{0})},
        {"usage_in_usermode", usage.value("user", uint64_t{0})}}},
      {"system_cpu_usage", SystemCpuNanos()},
      {"online_cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
      {"throttling_data",
       {{"periods", cpu.value("throttling", nlohmann::json::object()).value("periods", 0)},
        {"throttled_periods",
         cpu.value("throttling", nlohmann::json::object()).value("throttledPeriods", 0)},
        {"throttled_time",
         cpu.value("throttling", nlohmann::json::object()).value("throttledTime", 0)}}},
  };
  const nlohmann::json memory = data.value("memory", nlohmann::json::object());
  const nlohmann::json memory_usage = memory.value("usage", nlohmann::json::object());
  uint64_t limit = memory_usage.value("limit", uint64_t{0});
  // "No limit" reads as a huge number (v1) or 0 (v2 "max"): Docker shows
  // the host's memory then.
  if (limit == 0 || limit > HostMemory()) limit = HostMemory();
  sample.memory_stats = {
      {"usage", memory_usage.value("usage", uint64_t{0})},
      {"max_usage", memory_usage.value("max", uint64_t{0})},
      {"failcnt", memory_usage.value("failcnt", uint64_t{0})},
      {"limit", limit},
      {"stats", memory.value("raw", nlohmann::json::object())},
  };
  const nlohmann::json pids = data.value("pids", nlohmann::json::object());
  sample.pids_stats = {{"current", pids.value("current", uint64_t{0})}};
  if (pids.value("limit", uint64_t{0}) > 0) sample.pids_stats["limit"] = pids["limit"];
  return sample;
}

nlohmann::json DockerStats(const Container& container, const StatsSample& now,
                           const std::optional<StatsSample>& previous) {
  const nlohmann::json empty_cpu = {
      {"cpu_usage", {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
      {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
  return {
      {"read", DockerTime(now.read)},
      {"preread", previous ? DockerTime(previous->read) : DockerTime(absl::UnixEpoch())},
      {"pids_stats", now.pids_stats},
      {"blkio_stats",
       {{"io_service_bytes_recursive", nullptr}, {"io_serviced_recursive", nullptr}}},
      {"num_procs", 0},
      {"storage_stats", nlohmann::json::object()},
      {"cpu_stats", now.cpu_stats},
      {"precpu_stats", previous ? previous->cpu_stats : empty_cpu},
      {"memory_stats", now.memory_stats},
      {"name", "/" + container.name},
      {"id", container.id},
      {"networks", nlohmann::json::object()},
  };
}

}  // namespace gantry::engined
