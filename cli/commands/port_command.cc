// gantry port: a container's published ports, as docker port prints them
// ("80/tcp -> 0.0.0.0:8080"), or where one private port is published.
#include <algorithm>
#include <iostream>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/commands/command_context.h"
#include "cli/format/ports.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

std::string Frontend(const json& binding) {
  return JoinHostPort(binding.value("HostIp", ""), binding.value("HostPort", ""));
}

absl::StatusOr<int> Port(CommandContext& context, const std::string& container,
                         const std::string& private_port) {
  GANTRY_ASSIGN_OR_RETURN(
      json inspect,
      context.client().CallJson("GET", absl::StrCat("/containers/", container, "/json")));
  json ports = json::object();
  if (inspect.contains("NetworkSettings") && inspect["NetworkSettings"].is_object()) {
    ports = inspect["NetworkSettings"].value("Ports", json::object());
  }
  if (!ports.is_object()) ports = json::object();
  std::vector<std::string> out;
  if (!private_port.empty()) {
    std::pair<std::string, std::string> parts =
        absl::StrSplit(private_port, absl::MaxSplits('/', 1));
    if (parts.second.empty()) parts.second = "tcp";
    uint32_t number = 0;
    if (!absl::SimpleAtoi(parts.first, &number) || number > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("Error: invalid port (", parts.first,
                                                     "): strconv.ParseUint: parsing \"",
                                                     parts.first, "\": invalid syntax"));
    }
    const json frontends = ports.value(absl::StrCat(parts.first, "/", parts.second), json());
    if (!frontends.is_array() || frontends.empty()) {
      return absl::NotFoundError(
          absl::StrCat("Error: No public port '", private_port, "' published for ", container));
    }
    for (const json& frontend : frontends) out.push_back(Frontend(frontend));
  } else {
    for (const auto& [from, frontends] : ports.items()) {
      if (!frontends.is_array()) continue;
      for (const json& frontend : frontends) {
        out.push_back(absl::StrCat(from, " -> ", Frontend(frontend)));
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return NaturalLess(a, b); });
  if (!out.empty()) std::cout << absl::StrJoin(out, "\n") << "\n";
  return 0;
}

}  // namespace

void AddPortCommand(CLI::App& app, CommandContext& context) {
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* port =
      app.add_subcommand("port", "List port mappings or a specific mapping for the container");
  port->add_option("container", args->first, "CONTAINER")->required();
  port->add_option("private_port", args->second, "[PRIVATE_PORT[/PROTO]]");
  context.OnRun(port, [&context, args] { return Port(context, args->first, args->second); });
}

}  // namespace gantry::cli
