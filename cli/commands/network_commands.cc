// gantry network create, ls, inspect, rm, prune, connect and disconnect, as
// docker's.
#include <arpa/inet.h>

#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/commands/command_context.h"
#include "cli/commands/list_rows.h"
#include "cli/commands/network_config.h"
#include "cli/commands/resource_commands.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

struct NetworkCreateFlags {
  std::string name;
  std::string driver = "bridge";
  std::vector<std::string> subnets;
  std::vector<std::string> gateways;
  std::vector<std::string> ip_ranges;
  bool internal = false;
  bool attachable = false;
  bool ipv6 = false;
  std::vector<std::string> labels;
  std::vector<std::string> options;
  std::string ipam_driver = "default";
  std::vector<std::string> ipam_options;
};

absl::StatusOr<int> CreateNetwork(CommandContext& context, const NetworkCreateFlags& flags) {
  GANTRY_ASSIGN_OR_RETURN(json ipam_config,
                          IpamConfigs(flags.subnets, flags.ip_ranges, flags.gateways));
  json body = {{"Name", flags.name},
               {"Driver", flags.driver},
               {"Internal", flags.internal},
               {"Attachable", flags.attachable},
               {"Options", KeyValues(flags.options)},
               {"Labels", KeyValues(flags.labels)},
               {"IPAM",
                {{"Driver", flags.ipam_driver},
                 {"Options", KeyValues(flags.ipam_options)},
                 {"Config", ipam_config}}}};
  if (flags.ipv6) body["EnableIPv6"] = true;
  GANTRY_ASSIGN_OR_RETURN(json created,
                          context.client().CallJson("POST", "/networks/create", body));
  std::cout << created.value("Id", "") << "\n";
  return 0;
}

absl::StatusOr<int> ListNetworks(CommandContext& context, const ListFlags& flags) {
  GANTRY_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(flags.filters));
  GANTRY_ASSIGN_OR_RETURN(json networks,
                          context.client().CallJson("GET", absl::StrCat("/networks?", filters)));
  std::vector<json> rows;
  for (const json& network : networks) {
    if (network.is_object()) rows.push_back(NetworkRow(network, flags.no_trunc));
  }
  return PrintList(std::move(rows), flags, "{{.ID}}", NetworkHeaders(), kNetworksTable);
}

// network rm: each name printed once removed; with -f, one that is not
// there is passed over in silence.
absl::StatusOr<int> RemoveNetworks(CommandContext& context, const std::vector<std::string>& names,
                                   bool force) {
  std::vector<std::string> present;
  for (const std::string& name : names) {
    absl::StatusOr<json> network =
        context.client().CallJson("GET", absl::StrCat("/networks/", name));
    if (!force || network.ok() || network.status().code() != absl::StatusCode::kNotFound) {
      present.push_back(name);
    }
  }
  return ForEachContainer(present, [&](const std::string& name) {
    return context.client().Call("DELETE", absl::StrCat("/networks/", name)).status();
  });
}

struct ConnectFlags {
  std::string network;
  std::string container;
  std::vector<std::string> aliases;
  std::string ip;
  bool force = false;
};

absl::StatusOr<int> Connect(CommandContext& context, const ConnectFlags& flags) {
  json ipam = json::object();
  if (!flags.ip.empty()) ipam["IPv4Address"] = flags.ip;
  json endpoint = {{"IPAMConfig", ipam}};
  if (!flags.aliases.empty()) endpoint["Aliases"] = flags.aliases;
  GANTRY_RETURN_IF_ERROR(
      context.client()
          .Call("POST", absl::StrCat("/networks/", flags.network, "/connect"),
                json{{"Container", flags.container}, {"EndpointConfig", endpoint}})
          .status());
  return 0;
}

absl::StatusOr<int> Disconnect(CommandContext& context, const ConnectFlags& flags) {
  GANTRY_RETURN_IF_ERROR(context.client()
                             .Call("POST", absl::StrCat("/networks/", flags.network, "/disconnect"),
                                   json{{"Container", flags.container}, {"Force", flags.force}})
                             .status());
  return 0;
}

// A v4 or v6 address and prefix length ("10.1.0.0/16"; an address alone is
// the whole length).
struct Cidr {
  int family = 0;
  unsigned char bytes[16] = {};
  int bits = 0;
};

std::optional<Cidr> ParseCidr(const std::string& text) {
  std::pair<std::string, std::string> parts = absl::StrSplit(text, absl::MaxSplits('/', 1));
  Cidr cidr;
  cidr.family = absl::StrContains(parts.first, ':') ? AF_INET6 : AF_INET;
  if (::inet_pton(cidr.family, parts.first.c_str(), cidr.bytes) != 1) return std::nullopt;
  const int max_bits = cidr.family == AF_INET ? 32 : 128;
  cidr.bits = max_bits;
  if (absl::StrContains(text, '/') &&
      (!absl::SimpleAtoi(parts.second, &cidr.bits) || cidr.bits < 0 || cidr.bits > max_bits)) {
    return std::nullopt;
  }
  return cidr;
}

// Whether `inner`'s address lies in `subnet` (docker's subnetMatches).
absl::StatusOr<bool> SubnetMatches(const std::string& subnet, const std::string& inner) {
  std::optional<Cidr> outer = ParseCidr(subnet);
  if (!outer.has_value() || !absl::StrContains(subnet, '/')) {
    return absl::InvalidArgumentError(absl::StrCat("invalid CIDR address: ", subnet));
  }
  std::optional<Cidr> address = ParseCidr(inner);
  if (!address.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid CIDR address: ", inner));
  }
  if (outer->family != address->family) return false;
  for (int bit = 0; bit < outer->bits; ++bit) {
    const unsigned char mask = static_cast<unsigned char>(0x80 >> (bit % 8));
    if ((outer->bytes[bit / 8] & mask) != (address->bytes[bit / 8] & mask)) return false;
  }
  return true;
}

// Puts `value` ("IPRange", "Gateway") on the one subnet that holds it.
absl::Status Assign(json& configs, const std::vector<std::string>& subnets,
                    const std::string& value, const char* key, const char* what) {
  bool matched = false;
  for (size_t i = 0; i < subnets.size(); ++i) {
    GANTRY_ASSIGN_OR_RETURN(bool inside, SubnetMatches(subnets[i], value));
    if (!inside) continue;
    if (configs[i].contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot configure multiple ", what, "s (", value, ", ",
          configs[i][key].get<std::string>(), ") ", std::string(what) == "range" ? "on" : "for",
          " the same subnet (", subnets[i], ")"));
    }
    configs[i][key] = value;
    matched = true;
  }
  if (!matched) {
    return absl::InvalidArgumentError(absl::StrCat("no matching subnet for ", what, " ", value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<json> IpamConfigs(const std::vector<std::string>& subnets,
                                 const std::vector<std::string>& ranges,
                                 const std::vector<std::string>& gateways) {
  if (subnets.size() < ranges.size() || subnets.size() < gateways.size()) {
    return absl::InvalidArgumentError("every ip-range or gateway must have a corresponding subnet");
  }
  json configs = json::array();
  for (size_t i = 0; i < subnets.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      GANTRY_ASSIGN_OR_RETURN(bool one, SubnetMatches(subnets[i], subnets[j]));
      GANTRY_ASSIGN_OR_RETURN(bool other, SubnetMatches(subnets[j], subnets[i]));
      if (one || other) {
        return absl::InvalidArgumentError(
            "multiple overlapping subnet configuration is not supported");
      }
    }
    configs.push_back({{"Subnet", subnets[i]}});
  }
  for (const std::string& range : ranges) {
    GANTRY_RETURN_IF_ERROR(Assign(configs, subnets, range, "IPRange", "range"));
  }
  for (const std::string& gateway : gateways) {
    GANTRY_RETURN_IF_ERROR(Assign(configs, subnets, gateway, "Gateway", "gateway"));
  }
  return configs;
}

void AddNetworkCommands(CLI::App& app, CommandContext& context) {
  CLI::App* network = app.add_subcommand("network", "Manage networks");
  network->require_subcommand(1);

  auto create = std::make_shared<NetworkCreateFlags>();
  CLI::App* create_cmd = network->add_subcommand("create", "Create a network");
  create_cmd->add_option("name", create->name, "NETWORK")->required();
  create_cmd->add_option("-d,--driver", create->driver, "Driver to manage the Network");
  AddRepeatable(*create_cmd, "--subnet", create->subnets,
                "Subnet in CIDR format that represents a network segment");
  AddRepeatable(*create_cmd, "--gateway", create->gateways,
                "IPv4 or IPv6 Gateway for the master subnet");
  AddRepeatable(*create_cmd, "--ip-range", create->ip_ranges,
                "Allocate container ip from a sub-range");
  create_cmd->add_flag("--internal", create->internal, "Restrict external access to the network");
  create_cmd->add_flag("--attachable", create->attachable, "Enable manual container attachment");
  create_cmd->add_flag("--ipv6", create->ipv6, "Enable or disable IPv6 networking");
  AddRepeatable(*create_cmd, "--label", create->labels, "Set metadata on a network");
  AddRepeatable(*create_cmd, "-o,--opt", create->options, "Set driver specific options");
  create_cmd->add_option("--ipam-driver", create->ipam_driver, "IP Address Management Driver");
  AddRepeatable(*create_cmd, "--ipam-opt", create->ipam_options,
                "Set IPAM driver specific options");
  context.OnRun(create_cmd, [&context, create] { return CreateNetwork(context, *create); });

  auto list = std::make_shared<ListFlags>();
  CLI::App* ls_cmd =
      AddListCommand(*network, "List networks", "Only display network IDs", "driver=bridge", *list);
  ls_cmd->add_flag("--no-trunc", list->no_trunc, "Do not truncate the output");
  context.OnRun(ls_cmd, [&context, list] { return ListNetworks(context, *list); });

  AddInspectCommand(*network, context, "network");

  auto rm = std::make_shared<RemoveFlags>();
  CLI::App* rm_cmd =
      AddRemoveCommand(*network, "Remove one or more networks", "NETWORK [NETWORK...]",
                       "Do not error if the network does not exist", *rm);
  context.OnRun(rm_cmd, [&context, rm] { return RemoveNetworks(context, rm->names, rm->force); });

  AddNetworkPruneCommand(*network, context);

  auto connect = std::make_shared<ConnectFlags>();
  CLI::App* connect_cmd = network->add_subcommand("connect", "Connect a container to a network");
  connect_cmd->add_option("network", connect->network, "NETWORK")->required();
  connect_cmd->add_option("container", connect->container, "CONTAINER")->required();
  AddRepeatable(*connect_cmd, "--alias", connect->aliases,
                "Add network-scoped alias for the container");
  connect_cmd->add_option("--ip", connect->ip, "IPv4 address (e.g., \"172.30.100.104\")");
  context.OnRun(connect_cmd, [&context, connect] { return Connect(context, *connect); });

  auto disconnect = std::make_shared<ConnectFlags>();
  CLI::App* disconnect_cmd =
      network->add_subcommand("disconnect", "Disconnect a container from a network");
  disconnect_cmd->add_option("network", disconnect->network, "NETWORK")->required();
  disconnect_cmd->add_option("container", disconnect->container, "CONTAINER")->required();
  disconnect_cmd->add_flag("-f,--force", disconnect->force,
                           "Force the container to disconnect from a network");
  context.OnRun(disconnect_cmd,
                [&context, disconnect] { return Disconnect(context, *disconnect); });
}

}  // namespace gantry::cli
