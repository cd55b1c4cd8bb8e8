// gantry container prune, image prune and system prune: docker's warning
// and [y/N] question (unless -f), what was deleted, and the space reclaimed.
#include <iostream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/commands/command_context.h"
#include "cli/format/units.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

struct PruneFlags {
  bool force = false;
  bool all = false;
  bool volumes = false;
  bool all_volumes = false;
  std::vector<std::string> filters;
};

// What one prune endpoint removed, as docker prints it.
struct Pruned {
  uint64_t space = 0;
  std::string output;  // "Deleted Containers:\n<id>\n", empty when nothing went
};

bool Confirmed(const std::string& warning) {
  std::cout << warning << "\nAre you sure you want to continue? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y";
}

// POST /<what>/prune; an engined without that resource (404 for the path)
// has none of it to remove.
absl::StatusOr<json> CallPrune(EngineClient& client, const std::string& what,
                               const std::string& query) {
  absl::StatusOr<json> report = client.CallJson("POST", absl::StrCat("/", what, "/prune?", query));
  if (!report.ok() && report.status().code() == absl::StatusCode::kNotFound &&
      absl::StrContains(report.status().message(), "page not found")) {
    return json::object();
  }
  return report;
}

std::string Listed(const std::string& title, const json& items) {
  if (!items.is_array() || items.empty()) return "";
  std::string out = absl::StrCat(title, ":\n");
  for (const json& item : items)
    absl::StrAppend(&out, item.is_string() ? item.get<std::string>() : item.dump(), "\n");
  return out;
}

// A prune whose answer names what went under `key`.
absl::StatusOr<Pruned> PruneListed(EngineClient& client, const std::string& what,
                                   const std::string& query, const std::string& title,
                                   const char* key) {
  GANTRY_ASSIGN_OR_RETURN(json report, CallPrune(client, what, query));
  return Pruned{report.value("SpaceReclaimed", uint64_t{0}),
                Listed(title, report.value(key, json::array()))};
}

absl::StatusOr<Pruned> PruneContainers(EngineClient& client, const PruneFlags& flags) {
  GANTRY_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(flags.filters));
  return PruneListed(client, "containers", filters, "Deleted Containers", "ContainersDeleted");
}

absl::StatusOr<Pruned> PruneNetworks(EngineClient& client, const PruneFlags& flags) {
  GANTRY_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(flags.filters));
  return PruneListed(client, "networks", filters, "Deleted Networks", "NetworksDeleted");
}

// With -a (volume prune's, not system prune's) named volumes too.
absl::StatusOr<Pruned> PruneVolumes(EngineClient& client, const PruneFlags& flags) {
  std::vector<std::string> filter_flags = flags.filters;
  if (flags.all_volumes) filter_flags.push_back("all=true");
  GANTRY_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(filter_flags));
  return PruneListed(client, "volumes", filters, "Deleted Volumes", "VolumesDeleted");
}

absl::StatusOr<Pruned> PruneImages(EngineClient& client, const PruneFlags& flags) {
  std::vector<std::string> filters = flags.filters;
  filters.push_back(flags.all ? "dangling=false" : "dangling=true");
  GANTRY_ASSIGN_OR_RETURN(std::string query, FiltersQuery(filters));
  GANTRY_ASSIGN_OR_RETURN(json report, CallPrune(client, "images", query));
  Pruned pruned{report.value("SpaceReclaimed", uint64_t{0}), ""};
  const json deleted = report.value("ImagesDeleted", json::array());
  if (deleted.is_array() && !deleted.empty()) {
    pruned.output = "Deleted Images:\n";
    for (const json& item : deleted) {
      if (!item.value("Untagged", "").empty()) {
        absl::StrAppend(&pruned.output, "untagged: ", item.value("Untagged", ""), "\n");
      } else {
        absl::StrAppend(&pruned.output, "deleted: ", item.value("Deleted", ""), "\n");
      }
    }
  }
  return pruned;
}

absl::StatusOr<Pruned> PruneBuildCache(EngineClient& client, const PruneFlags& flags) {
  GANTRY_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(flags.filters));
  return PruneListed(client, "build", absl::StrCat("all=", flags.all ? "1" : "0", filters),
                     "Deleted build cache objects", "CachesDeleted");
}

using Pruner = absl::StatusOr<Pruned> (*)(EngineClient&, const PruneFlags&);

// Runs the pruners in order, each one's list followed by a blank line, then
// the total (which network prune, reclaiming no space, leaves out).
absl::StatusOr<int> RunPruners(CommandContext& context, const PruneFlags& flags,
                               const std::string& warning, const std::vector<Pruner>& pruners,
                               bool total = true) {
  if (!flags.force && !Confirmed(warning)) return 0;
  uint64_t space = 0;
  for (Pruner prune : pruners) {
    GANTRY_ASSIGN_OR_RETURN(Pruned pruned, prune(context.client(), flags));
    space += pruned.space;
    if (!pruned.output.empty()) std::cout << pruned.output << "\n";
  }
  if (total) std::cout << "Total reclaimed space: " << HumanSize(double(space)) << "\n";
  return 0;
}

std::string SystemPruneWarning(const PruneFlags& flags) {
  std::string warning =
      "WARNING! This will remove:\n  - all stopped containers\n"
      "  - all networks not used by at least one container\n";
  if (flags.volumes)
    absl::StrAppend(&warning, "  - all anonymous volumes not used by at least one container\n");
  absl::StrAppend(&warning,
                  flags.all ? "  - all images without at least one container associated to them\n"
                            : "  - all dangling images\n");
  absl::StrAppend(&warning, flags.all ? "  - all build cache\n" : "  - unused build cache\n");
  return warning;
}

CLI::App* AddPruneCommand(CLI::App& parent, const std::string& description,
                          const std::shared_ptr<PruneFlags>& flags) {
  CLI::App* prune = parent.add_subcommand("prune", description);
  prune->add_flag("-f,--force", flags->force, "Do not prompt for confirmation");
  AddRepeatable(*prune, "--filter", flags->filters,
                "Provide filter values (e.g. \"until=<timestamp>\")");
  return prune;
}

}  // namespace

void AddContainerPruneCommand(CLI::App& parent, CommandContext& context) {
  auto flags = std::make_shared<PruneFlags>();
  CLI::App* prune = AddPruneCommand(parent, "Remove all stopped containers", flags);
  context.OnRun(prune, [&context, flags] {
    return RunPruners(context, *flags, "WARNING! This will remove all stopped containers.",
                      {PruneContainers});
  });
}

void AddImagePruneCommand(CLI::App& parent, CommandContext& context) {
  auto flags = std::make_shared<PruneFlags>();
  CLI::App* prune = AddPruneCommand(parent, "Remove unused images", flags);
  prune->add_flag("-a,--all", flags->all, "Remove all unused images, not just dangling ones");
  context.OnRun(prune, [&context, flags] {
    return RunPruners(context, *flags,
                      flags->all ? "WARNING! This will remove all images without at least one "
                                   "container associated to them."
                                 : "WARNING! This will remove all dangling images.",
                      {PruneImages});
  });
}

void AddSystemPruneCommand(CLI::App& parent, CommandContext& context) {
  auto flags = std::make_shared<PruneFlags>();
  CLI::App* prune = AddPruneCommand(parent, "Remove unused data", flags);
  prune->add_flag("-a,--all", flags->all, "Remove all unused images not just dangling ones");
  prune->add_flag("--volumes", flags->volumes, "Prune anonymous volumes");
  context.OnRun(prune, [&context, flags] {
    std::vector<Pruner> pruners = {PruneContainers, PruneNetworks};
    if (flags->volumes) pruners.push_back(PruneVolumes);
    pruners.push_back(PruneImages);
    pruners.push_back(PruneBuildCache);
    return RunPruners(context, *flags, SystemPruneWarning(*flags), pruners);
  });
}

void AddVolumePruneCommand(CLI::App& parent, CommandContext& context) {
  auto flags = std::make_shared<PruneFlags>();
  CLI::App* prune = AddPruneCommand(parent, "Remove unused local volumes", flags);
  prune->add_flag("-a,--all", flags->all_volumes,
                  "Remove all unused volumes, not just anonymous ones");
  context.OnRun(prune, [&context, flags] {
    return RunPruners(context, *flags,
                      flags->all_volumes
                          ? "WARNING! This will remove all local volumes not used by at least one "
                            "container."
                          : "WARNING! This will remove anonymous local volumes not used by at "
                            "least one container.",
                      {PruneVolumes});
  });
}

void AddNetworkPruneCommand(CLI::App& parent, CommandContext& context) {
  auto flags = std::make_shared<PruneFlags>();
  CLI::App* prune = AddPruneCommand(parent, "Remove all unused networks", flags);
  context.OnRun(prune, [&context, flags] {
    return RunPruners(
        context, *flags,
        "WARNING! This will remove all custom networks not used by at least one container.",
        {PruneNetworks}, /*total=*/false);
  });
}

}  // namespace gantry::cli
