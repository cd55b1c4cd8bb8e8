// What `volume` and `network` share: their ls (-q, --filter, --format, rows
// in docker's natural order of names) and rm (names, -f).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace gantry::cli {

struct ListFlags {
  bool quiet = false;
  bool no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
};

// `ls` (alias `list`) in `group`; the caller adds what else it takes.
CLI::App* AddListCommand(CLI::App& group, const std::string& description,
                         const std::string& quiet_help, const std::string& filter_example,
                         ListFlags& flags);

// The rows sorted by Name and printed in `flags.format` or `default_table`;
// -q, unless --format says otherwise (as docker), prints `quiet_format`.
absl::StatusOr<int> PrintList(std::vector<nlohmann::json> rows, const ListFlags& flags,
                              const std::string& quiet_format, const nlohmann::json& headers,
                              const std::string& default_table);

struct RemoveFlags {
  std::vector<std::string> names;
  bool force = false;
};

// `rm` (alias `remove`) NAME... [-f] in `group`.
CLI::App* AddRemoveCommand(CLI::App& group, const std::string& description,
                           const std::string& names_help, const std::string& force_help,
                           RemoveFlags& flags);

}  // namespace gantry::cli
