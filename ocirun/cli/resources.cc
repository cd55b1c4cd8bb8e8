#include <unistd.h>

#include <iostream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "ocirun/cli/commands.h"

namespace ocirun::cli {
namespace {

struct UpdateFlags {
  std::string resources_file;
  std::optional<int64_t> memory, memory_swap, memory_reservation, pids_limit, cpu_quota;
  std::optional<uint64_t> cpu_shares, cpu_period;
  std::string cpuset_cpus, cpuset_mems;
};

absl::StatusOr<Resources> ResourcesFromFlags(const UpdateFlags& f) {
  Resources r;
  if (!f.resources_file.empty()) {
    std::string text;
    if (f.resources_file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
      GANTRY_ASSIGN_OR_RETURN(text, gantry::ReadFile(f.resources_file));
    }
    GANTRY_ASSIGN_OR_RETURN(nlohmann::json doc, gantry::ParseJson(text, f.resources_file));
    GANTRY_ASSIGN_OR_RETURN(
        r, ParseResources(doc, f.resources_file == "-" ? "stdin" : f.resources_file));
  }
  if (f.memory) r.memory.limit = f.memory;
  if (f.memory_swap) r.memory.swap = f.memory_swap;
  if (f.memory_reservation) r.memory.reservation = f.memory_reservation;
  if (f.pids_limit) r.pids_limit = f.pids_limit;
  if (f.cpu_quota) r.cpu.quota = f.cpu_quota;
  if (f.cpu_shares) r.cpu.shares = f.cpu_shares;
  if (f.cpu_period) r.cpu.period = f.cpu_period;
  if (!f.cpuset_cpus.empty()) r.cpu.cpus = f.cpuset_cpus;
  if (!f.cpuset_mems.empty()) r.cpu.mems = f.cpuset_mems;
  return r;
}

}  // namespace

void RegisterResources(CLI::App& app, Invocation& inv) {
  static std::string pause_id, resume_id;
  auto* pause_cmd = app.add_subcommand("pause", "suspend all processes of a container");
  pause_cmd->add_option("id", pause_id, "container id")->required();
  pause_cmd->callback([&inv] {
    inv.action = [&inv]() -> absl::StatusOr<int> {
      GANTRY_RETURN_IF_ERROR(PauseContainer(inv.global, pause_id));
      return 0;
    };
  });
  auto* resume_cmd = app.add_subcommand("resume", "resume all processes of a paused container");
  resume_cmd->add_option("id", resume_id, "container id")->required();
  resume_cmd->callback([&inv] {
    inv.action = [&inv]() -> absl::StatusOr<int> {
      GANTRY_RETURN_IF_ERROR(ResumeContainer(inv.global, resume_id));
      return 0;
    };
  });

  static UpdateFlags f;
  static std::string update_id;
  auto* update_cmd = app.add_subcommand("update", "update a container's resource limits");
  update_cmd->add_option("-r,--resources", f.resources_file,
                         "file with linux.resources JSON (\"-\" for stdin)");
  update_cmd->add_option("--memory", f.memory, "memory limit in bytes");
  update_cmd->add_option("--memory-swap", f.memory_swap, "memory plus swap limit in bytes");
  update_cmd->add_option("--memory-reservation", f.memory_reservation, "memory soft limit");
  update_cmd->add_option("--pids-limit", f.pids_limit, "maximum number of pids");
  update_cmd->add_option("--cpu-quota", f.cpu_quota, "CFS quota in microseconds");
  update_cmd->add_option("--cpu-period", f.cpu_period, "CFS period in microseconds");
  update_cmd->add_option("--cpu-share", f.cpu_shares, "CPU shares (relative weight)");
  update_cmd->add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs to use (0-3, 0,1)");
  update_cmd->add_option("--cpuset-mems", f.cpuset_mems, "memory nodes to use");
  update_cmd->add_option("id", update_id, "container id")->required();
  update_cmd->callback([&inv] {
    inv.action = [&inv]() -> absl::StatusOr<int> {
      GANTRY_ASSIGN_OR_RETURN(Resources r, ResourcesFromFlags(f));
      GANTRY_RETURN_IF_ERROR(UpdateContainer(inv.global, update_id, r));
      return 0;
    };
  });
}

}  // namespace ocirun::cli
