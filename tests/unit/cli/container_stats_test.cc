// docker stats' figures from a stats reading, and the units it prints them
// in: the docker CLI's formulas, checked against numbers worked by hand.
#include "cli/format/container_stats.h"

#include <catch2/catch.hpp>

#include "cli/format/units.h"

namespace {

using namespace gantry::cli;
using nlohmann::json;

json Reading() {
  return json::parse(R"({
    "id": "4ecf21d54408e0f431570a5847bde4890f050135f33f4b980ec797c94fba1c16",
    "name": "/web",
    "cpu_stats": {"cpu_usage": {"total_usage": 3000000000}, "system_cpu_usage": 20000000000,
                  "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 2000000000}, "system_cpu_usage": 16000000000,
                     "online_cpus": 2},
    "memory_stats": {"usage": 10485760, "limit": 104857600, "stats": {"inactive_file": 2097152}},
    "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 648}, "eth1": {"rx_bytes": 500, "tx_bytes": 0}},
    "blkio_stats": {"io_service_bytes_recursive": [
      {"major": 8, "minor": 0, "op": "Read", "value": 3568000},
      {"major": 8, "minor": 0, "op": "Write", "value": 512000},
      {"major": 8, "minor": 0, "op": "Total", "value": 4080000}]},
    "pids_stats": {"current": 3}
  })");
}

}  // namespace

TEST_CASE("CPU % is the container's share of the CPU time that passed, times the CPUs",
          "[cli][stats]") {
  // 1 s of container time in 4 s of system time on 2 CPUs.
  CHECK(CpuPercent(Reading()) == Approx(50.0));
  json no_change = Reading();
  no_change["precpu_stats"] = no_change["cpu_stats"];
  CHECK(CpuPercent(no_change) == 0.0);
  // Without online_cpus, the per-CPU list's length counts.
  json per_cpu = Reading();
  per_cpu["cpu_stats"].erase("online_cpus");
  per_cpu["cpu_stats"]["cpu_usage"]["percpu_usage"] = {1, 2, 3, 4};
  CHECK(CpuPercent(per_cpu) == Approx(100.0));
  CHECK(CpuPercent(json::object()) == 0.0);
}

TEST_CASE("memory leaves out the inactive page cache, cgroup v1 and v2", "[cli][stats]") {
  CHECK(MemoryUsageNoCache(Reading()["memory_stats"]) == 8388608);
  CHECK(MemoryUsageNoCache({{"usage", 1000}, {"stats", {{"total_inactive_file", 400}}}}) == 600);
  // More inactive than used (a racing read): the usage as it is.
  CHECK(MemoryUsageNoCache({{"usage", 1000}, {"stats", {{"inactive_file", 4000}}}}) == 1000);
}

TEST_CASE("a stats row shows docker's columns", "[cli][stats]") {
  StatsEntry entry;
  entry.container = "web";
  UpdateStatsEntry(entry, Reading());
  const json row = StatsRow(entry, false);
  CHECK(row["Container"] == "web");
  CHECK(row["ID"] == "4ecf21d54408");
  CHECK(row["Name"] == "web");
  CHECK(row["CPUPerc"] == "50.00%");
  CHECK(row["MemUsage"] == "8MiB / 100MiB");
  CHECK(row["MemPerc"] == "8.00%");
  CHECK(row["NetIO"] == "2kB / 648B");
  CHECK(row["BlockIO"] == "3.57MB / 512kB");
  CHECK(row["PIDs"] == "3");
  CHECK(StatsRow(entry, true)["ID"].get<std::string>().size() == 64);

  // Before its first reading: zeros; after a failed one: dashes.
  StatsEntry waiting;
  waiting.container = "db";
  CHECK(StatsRow(waiting, false)["CPUPerc"] == "0.00%");
  CHECK(StatsRow(waiting, false)["MemUsage"] == "0B / 0B");
  CHECK(StatsRow(waiting, false)["Name"] == "--");
  waiting.invalid = true;
  const json failed = StatsRow(waiting, false);
  CHECK(failed["CPUPerc"] == "--");
  CHECK(failed["MemUsage"] == "-- / --");
  CHECK(failed["PIDs"] == "--");
}

TEST_CASE("sizes in docker's units", "[cli][units]") {
  CHECK(BytesSize(0) == "0B");
  CHECK(BytesSize(618496) == "604KiB");
  CHECK(BytesSize(25276514304.0) == "23.54GiB");
  CHECK(BytesSize(1372160) == "1.309MiB");
  CHECK(HumanSize(1032000) == "1.032MB");
  CHECK(HumanSize(1032000, 3) == "1.03MB");
  CHECK(HumanSize(2048) == "2.048kB");
}
