#include "cli/format/container_stats.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/format/units.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

double Number(const json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0;
}

const json& Object(const json& object, const char* key) {
  static const json kEmpty = json::object();
  if (!object.is_object()) return kEmpty;
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

}  // namespace

double CpuPercent(const json& stats) {
  const json& cpu = Object(stats, "cpu_stats");
  const json& previous = Object(stats, "precpu_stats");
  const double cpu_delta = Number(Object(cpu, "cpu_usage"), "total_usage") -
                           Number(Object(previous, "cpu_usage"), "total_usage");
  const double system_delta =
      Number(cpu, "system_cpu_usage") - Number(previous, "system_cpu_usage");
  double online_cpus = Number(cpu, "online_cpus");
  if (online_cpus == 0) {
    const json& usage = Object(cpu, "cpu_usage");
    if (usage.contains("percpu_usage") && usage["percpu_usage"].is_array()) {
      online_cpus = double(usage["percpu_usage"].size());
    }
  }
  if (system_delta > 0 && cpu_delta > 0) return cpu_delta / system_delta * online_cpus * 100.0;
  return 0;
}

double MemoryUsageNoCache(const json& memory_stats) {
  const double usage = Number(memory_stats, "usage");
  const json& stats = Object(memory_stats, "stats");
  if (stats.contains("total_inactive_file")) {
    const double inactive = Number(stats, "total_inactive_file");
    if (inactive < usage) return usage - inactive;
  }
  const double inactive = Number(stats, "inactive_file");
  if (inactive < usage) return usage - inactive;
  return usage;
}

void UpdateStatsEntry(StatsEntry& entry, const json& stats) {
  entry.id = stats.value("id", entry.id);
  entry.name = stats.value("name", entry.name);
  entry.cpu_percent = CpuPercent(stats);
  const json& memory = Object(stats, "memory_stats");
  entry.memory = MemoryUsageNoCache(memory);
  entry.memory_limit = Number(memory, "limit");
  entry.memory_percent = entry.memory_limit != 0 ? entry.memory / entry.memory_limit * 100.0 : 0;
  entry.network_rx = entry.network_tx = 0;
  if (stats.contains("networks") && stats["networks"].is_object()) {
    for (const auto& [unused, network] : stats["networks"].items()) {
      entry.network_rx += Number(network, "rx_bytes");
      entry.network_tx += Number(network, "tx_bytes");
    }
  }
  entry.block_read = entry.block_write = 0;
  const json& blkio = Object(stats, "blkio_stats");
  if (blkio.contains("io_service_bytes_recursive") &&
      blkio["io_service_bytes_recursive"].is_array()) {
    for (const json& io : blkio["io_service_bytes_recursive"]) {
      const std::string op = io.value("op", "");
      if (op.empty()) continue;
      if (op[0] == 'r' || op[0] == 'R') entry.block_read += Number(io, "value");
      if (op[0] == 'w' || op[0] == 'W') entry.block_write += Number(io, "value");
    }
  }
  entry.pids = uint64_t(Number(Object(stats, "pids_stats"), "current"));
  entry.invalid = false;
}

json StatsRow(const StatsEntry& entry, bool no_trunc) {
  const std::string id = no_trunc ? entry.id : entry.id.substr(0, 12);
  const std::string name = entry.name.size() > 1 ? entry.name.substr(1) : "--";
  if (entry.invalid) {
    return {{"Container", entry.container},
            {"ID", id},
            {"Name", name},
            {"CPUPerc", "--"},
            {"MemUsage", "-- / --"},
            {"MemPerc", "--"},
            {"NetIO", "--"},
            {"BlockIO", "--"},
            {"PIDs", "--"}};
  }
  return {{"Container", entry.container},
          {"ID", id},
          {"Name", name},
          {"CPUPerc", absl::StrFormat("%.2f%%", entry.cpu_percent)},
          {"MemUsage", absl::StrCat(BytesSize(entry.memory), " / ", BytesSize(entry.memory_limit))},
          {"MemPerc", absl::StrFormat("%.2f%%", entry.memory_percent)},
          {"NetIO",
           absl::StrCat(HumanSize(entry.network_rx, 3), " / ", HumanSize(entry.network_tx, 3))},
          {"BlockIO",
           absl::StrCat(HumanSize(entry.block_read, 3), " / ", HumanSize(entry.block_write, 3))},
          {"PIDs", absl::StrCat(entry.pids)}};
}

const json& StatsHeaders() {
  static const json kHeaders = {{"Container", "CONTAINER"},
                                {"ID", "CONTAINER ID"},
                                {"Name", "NAME"},
                                {"CPUPerc", "CPU %"},
                                {"MemUsage", "MEM USAGE / LIMIT"},
                                {"MemPerc", "MEM %"},
                                {"NetIO", "NET I/O"},
                                {"BlockIO", "BLOCK I/O"},
                                {"PIDs", "PIDS"}};
  return kHeaders;
}

}  // namespace gantry::cli
