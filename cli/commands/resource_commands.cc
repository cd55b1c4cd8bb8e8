#include "cli/commands/resource_commands.h"

#include <algorithm>
#include <iostream>

#include "cli/commands/command_context.h"
#include "cli/format/ports.h"
#include "cli/format/table.h"
#include "common/errors.h"

namespace gantry::cli {

CLI::App* AddListCommand(CLI::App& group, const std::string& description,
                         const std::string& quiet_help, const std::string& filter_example,
                         ListFlags& flags) {
  CLI::App* ls = group.add_subcommand("ls", description);
  ls->alias("list");
  ls->add_flag("-q,--quiet", flags.quiet, quiet_help);
  AddRepeatable(*ls, "-f,--filter", flags.filters,
                "Provide filter values (e.g. \"" + filter_example + "\")");
  ls->add_option("--format", flags.format, "Format output using a custom template");
  return ls;
}

absl::StatusOr<int> PrintList(std::vector<nlohmann::json> rows, const ListFlags& flags,
                              const std::string& quiet_format, const nlohmann::json& headers,
                              const std::string& default_table) {
  std::sort(rows.begin(), rows.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return NaturalLess(a["Name"].get<std::string>(), b["Name"].get<std::string>());
  });
  const std::string format = flags.quiet && flags.format.empty() ? quiet_format : flags.format;
  GANTRY_ASSIGN_OR_RETURN(std::string text, FormatList(format, rows, headers, default_table));
  std::cout << text;
  return 0;
}

CLI::App* AddRemoveCommand(CLI::App& group, const std::string& description,
                           const std::string& names_help, const std::string& force_help,
                           RemoveFlags& flags) {
  CLI::App* rm = group.add_subcommand("rm", description);
  rm->alias("remove");
  rm->add_option("names", flags.names, names_help)->required();
  rm->add_flag("-f,--force", flags.force, force_help);
  return rm;
}

}  // namespace gantry::cli
