// gantry volume create, ls, inspect, rm and prune, as docker's.
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/commands/command_context.h"
#include "cli/commands/list_rows.h"
#include "cli/commands/resource_commands.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

struct VolumeCreateFlags {
  std::string name;  // --name, docker's hidden flag
  std::vector<std::string> args;
  std::string driver = "local";
  std::vector<std::string> labels;
  std::vector<std::string> options;
};

absl::StatusOr<int> CreateVolume(CommandContext& context, const VolumeCreateFlags& flags) {
  std::string name = flags.name;
  if (!flags.args.empty()) {
    if (!name.empty() && name != flags.args[0]) {
      return absl::InvalidArgumentError(
          "conflicting options: cannot specify a volume-name through both --name and as a "
          "positional arg");
    }
    name = flags.args[0];
  }
  const json body = {{"Name", name},
                     {"Driver", flags.driver},
                     {"DriverOpts", KeyValues(flags.options)},
                     {"Labels", KeyValues(flags.labels)}};
  GANTRY_ASSIGN_OR_RETURN(json volume, context.client().CallJson("POST", "/volumes/create", body));
  std::cout << volume.value("Name", "") << "\n";
  return 0;
}

absl::StatusOr<int> ListVolumes(CommandContext& context, const ListFlags& flags) {
  GANTRY_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(flags.filters));
  GANTRY_ASSIGN_OR_RETURN(json answer,
                          context.client().CallJson("GET", absl::StrCat("/volumes?", filters)));
  std::vector<json> rows;
  for (const json& volume : answer.value("Volumes", json::array())) {
    if (volume.is_object()) rows.push_back(VolumeRow(volume));
  }
  return PrintList(std::move(rows), flags, "{{.Name}}", VolumeHeaders(), kVolumesTable);
}

}  // namespace

void AddVolumeCommands(CLI::App& app, CommandContext& context) {
  CLI::App* volume = app.add_subcommand("volume", "Manage volumes");
  volume->require_subcommand(1);

  auto create = std::make_shared<VolumeCreateFlags>();
  CLI::App* create_cmd = volume->add_subcommand("create", "Create a volume");
  create_cmd->add_option("name", create->args, "[VOLUME]")->expected(0, 1);
  create_cmd->add_option("--name", create->name, "Specify volume name");
  create_cmd->add_option("-d,--driver", create->driver, "Specify volume driver name");
  AddRepeatable(*create_cmd, "--label", create->labels, "Set metadata for a volume");
  AddRepeatable(*create_cmd, "-o,--opt", create->options, "Set driver specific options");
  context.OnRun(create_cmd, [&context, create] { return CreateVolume(context, *create); });

  auto list = std::make_shared<ListFlags>();
  CLI::App* ls_cmd =
      AddListCommand(*volume, "List volumes", "Only display volume names", "dangling=true", *list);
  context.OnRun(ls_cmd, [&context, list] { return ListVolumes(context, *list); });

  AddInspectCommand(*volume, context, "volume");

  auto rm = std::make_shared<RemoveFlags>();
  CLI::App* rm_cmd = AddRemoveCommand(*volume, "Remove one or more volumes", "VOLUME [VOLUME...]",
                                      "Force the removal of one or more volumes", *rm);
  context.OnRun(rm_cmd, [&context, rm] {
    return ForEachContainer(rm->names, [&](const std::string& name) {
      return context.client()
          .Call("DELETE", absl::StrCat("/volumes/", name, rm->force ? "?force=1" : ""))
          .status();
    });
  });

  AddVolumePruneCommand(*volume, context);
}

}  // namespace gantry::cli
