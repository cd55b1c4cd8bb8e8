#include "engined/network/network_manager.h"

#include <sys/stat.h>

#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "engined/containers/container.h"
#include "engined/network/netlink.h"
#include "engined/network/netns.h"

namespace gantry::engined::network {
namespace {

constexpr char kDefaultBridge[] = "gantry0";
constexpr char kBridgeNameOption[] = "com.docker.network.bridge.name";
constexpr char kMtuOption[] = "com.docker.network.driver.mtu";
constexpr char kParentOption[] = "parent";  // macvlan's host interface
constexpr char kMacvlanModeOption[] = "macvlan_mode";

const std::vector<sqlite::SchemaComponent>& Schema() {
  static const auto* schema = new std::vector<sqlite::SchemaComponent>{
      {"networks", {R"sql(
CREATE TABLE networks (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  stored TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE endpoints (
  id TEXT PRIMARY KEY,
  container_id TEXT NOT NULL,
  network_id TEXT NOT NULL,
  stored TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX endpoints_by_container ON endpoints (container_id);
CREATE INDEX endpoints_by_network ON endpoints (network_id);
)sql"}},
  };
  return *schema;
}

// 7 random hex digits, as Docker's veth names ("veth1a2b3c4").
std::string RandomSuffix() { return NewRandomId().substr(0, 7); }

std::string ContainerTag(const std::string& container_id) { return "c:" + container_id; }
std::string NetworkTag(const std::string& network_id) { return "n:" + network_id; }

std::string OptionalText(const std::optional<Ipv4Prefix>& p) { return p ? p->ToString() : ""; }

absl::StatusOr<uint16_t> ParsePort(absl::string_view text, absl::string_view field) {
  uint32_t port = 0;
  if (!absl::SimpleAtoi(text, &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": invalid port \"", text, "\""));
  }
  return static_cast<uint16_t>(port);
}

// "80/tcp" (or "80") into port and protocol.
absl::StatusOr<std::pair<uint16_t, std::string>> ParsePortKey(const std::string& key,
                                                              absl::string_view field) {
  std::vector<std::string> parts = absl::StrSplit(key, absl::MaxSplits('/', 1));
  const std::string protocol = parts.size() == 2 ? parts[1] : "tcp";
  if (protocol != "tcp" && protocol != "udp") {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", key, "\": protocol must be tcp or udp"));
  }
  GANTRY_ASSIGN_OR_RETURN(uint16_t port,
                          ParsePort(parts[0], absl::StrCat(field, " \"", key, "\"")));
  return std::make_pair(port, protocol);
}

}  // namespace

nlohmann::json Network::ToStored() const {
  return {{"Id", id},
          {"Name", name},
          {"Driver", driver},
          {"Bridge", bridge},
          {"Subnet", OptionalText(subnet)},
          {"Gateway", gateway ? gateway->ToString() : ""},
          {"IPRange", OptionalText(ip_range)},
          {"Internal", internal},
          {"Attachable", attachable},
          {"MTU", mtu},
          {"Labels", labels},
          {"Options", options},
          {"Created", absl::ToUnixNanos(created)}};
}

absl::StatusOr<Network> Network::FromStored(const nlohmann::json& s) {
  Network n;
  n.id = s.value("Id", "");
  n.name = s.value("Name", "");
  n.driver = s.value("Driver", "");
  n.bridge = s.value("Bridge", "");
  if (const std::string v = s.value("Subnet", ""); !v.empty()) {
    GANTRY_ASSIGN_OR_RETURN(n.subnet, Ipv4Prefix::Parse(v));
  }
  if (const std::string v = s.value("Gateway", ""); !v.empty()) {
    GANTRY_ASSIGN_OR_RETURN(n.gateway, Ipv4Address::Parse(v));
  }
  if (const std::string v = s.value("IPRange", ""); !v.empty()) {
    GANTRY_ASSIGN_OR_RETURN(n.ip_range, Ipv4Prefix::Parse(v));
  }
  n.internal = s.value("Internal", false);
  n.attachable = s.value("Attachable", false);
  n.mtu = s.value("MTU", 1500);
  n.labels = s.value("Labels", std::map<std::string, std::string>());
  n.options = s.value("Options", std::map<std::string, std::string>());
  n.created = absl::FromUnixNanos(s.value("Created", int64_t{0}));
  return n;
}

nlohmann::json Endpoint::ToStored() const {
  nlohmann::json ports_json = nlohmann::json::array();
  for (const PortMapping& p : ports) {
    ports_json.push_back({{"Protocol", p.protocol},
                          {"ContainerPort", p.container_port},
                          {"HostIp", p.host_ip},
                          {"HostPort", p.host_port}});
  }
  return {{"Id", id},
          {"ContainerId", container_id},
          {"ContainerName", container_name},
          {"NetworkId", network_id},
          {"Interface", interface},
          {"HostVeth", host_veth},
          {"Address", address.ToString()},
          {"Mac", mac},
          {"Aliases", aliases},
          {"Ports", ports_json}};
}

Endpoint Endpoint::FromStored(const nlohmann::json& s) {
  Endpoint e;
  e.id = s.value("Id", "");
  e.container_id = s.value("ContainerId", "");
  e.container_name = s.value("ContainerName", "");
  e.network_id = s.value("NetworkId", "");
  e.interface = s.value("Interface", "");
  e.host_veth = s.value("HostVeth", "");
  e.address = Ipv4Address::Parse(s.value("Address", "0.0.0.0")).value_or(Ipv4Address());
  e.mac = s.value("Mac", "");
  e.aliases = s.value("Aliases", std::vector<std::string>());
  for (const nlohmann::json& p : s.value("Ports", nlohmann::json::array())) {
    e.ports.push_back({p.value("Protocol", "tcp"), p.value("ContainerPort", uint16_t{0}),
                       p.value("HostIp", "0.0.0.0"), p.value("HostPort", uint16_t{0})});
  }
  return e;
}

absl::StatusOr<std::vector<PortMapping>> ParsePortBindings(
    const nlohmann::json& port_bindings, bool publish_all,
    const std::vector<std::string>& exposed) {
  constexpr char kField[] = "HostConfig.PortBindings";
  std::vector<PortMapping> mappings;
  std::set<std::string> bound;
  if (port_bindings.is_object()) {
    for (const auto& [key, bindings] : port_bindings.items()) {
      GANTRY_ASSIGN_OR_RETURN(auto port, ParsePortKey(key, kField));
      bound.insert(absl::StrCat(port.first, "/", port.second));
      const nlohmann::json list = bindings.is_array() ? bindings : nlohmann::json::array({{}});
      for (const nlohmann::json& binding : list) {
        PortMapping m;
        m.container_port = port.first;
        m.protocol = port.second;
        if (binding.is_object()) {
          if (const std::string ip = binding.value("HostIp", ""); !ip.empty()) {
            if (!Ipv4Address::Parse(ip).ok()) {
              return absl::InvalidArgumentError(
                  absl::StrCat(kField, " \"", key, "\": invalid host IP \"", ip, "\""));
            }
            m.host_ip = ip;
          }
          std::string host_port = binding.value("HostPort", "");
          // A range ("8000-8010"): its first port (Docker tries each in turn).
          host_port = host_port.substr(0, host_port.find('-'));
          if (!host_port.empty()) {
            GANTRY_ASSIGN_OR_RETURN(m.host_port,
                                    ParsePort(host_port, absl::StrCat(kField, " \"", key, "\"")));
          }
        }
        mappings.push_back(m);
      }
    }
  }
  if (publish_all) {
    for (const std::string& key : exposed) {
      GANTRY_ASSIGN_OR_RETURN(auto port, ParsePortKey(key, "Config.ExposedPorts"));
      if (bound.count(absl::StrCat(port.first, "/", port.second))) continue;
      mappings.push_back({port.second, port.first, "0.0.0.0", 0});
    }
  }
  return mappings;
}

NetworkManager::NetworkManager(NetworkPaths paths, std::vector<AddressPool> pools, EventHub& events,
                               std::unique_ptr<sqlite::Database> db, std::unique_ptr<Ipam> ipam,
                               std::unique_ptr<Firewall> firewall)
    : paths_(std::move(paths)),
      pools_(std::move(pools)),
      events_(events),
      db_(std::move(db)),
      ipam_(std::move(ipam)),
      firewall_(std::move(firewall)),
      work_(boost::asio::make_work_guard(io_)) {
  io_thread_ = std::thread([this] { io_.run(); });
}

NetworkManager::~NetworkManager() {
  // The containers run on; engined's next start puts their proxies back.
  std::map<std::string, Live> live;
  {
    std::lock_guard lock(mu_);
    live.swap(live_);
  }
  live.clear();
  work_.reset();
  io_.stop();
  if (io_thread_.joinable()) io_thread_.join();
}

absl::StatusOr<std::unique_ptr<NetworkManager>> NetworkManager::Open(const NetworkPaths& paths,
                                                                     std::vector<AddressPool> pools,
                                                                     EventHub& events) {
  const std::string dir = absl::StrCat(paths.data_root, "/network");
  GANTRY_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  GANTRY_RETURN_IF_ERROR(MakeDirs(absl::StrCat(paths.exec_root, "/netns"), 0700));
  GANTRY_ASSIGN_OR_RETURN(auto db, sqlite::Database::Open(dir + "/local.db", Schema()));
  GANTRY_ASSIGN_OR_RETURN(auto ipam, Ipam::Open(dir + "/ipam.db"));
  GANTRY_ASSIGN_OR_RETURN(auto firewall, Firewall::Open());
  GANTRY_RETURN_IF_ERROR(EnableIpv4Forwarding());
  // Rules are rebuilt from what exists: nothing stale survives a crash.
  GANTRY_RETURN_IF_ERROR(firewall->Reset());
  GANTRY_RETURN_IF_ERROR(firewall->EnsureTable());
  if (pools.empty()) pools = DefaultAddressPools();
  std::unique_ptr<NetworkManager> manager(new NetworkManager(
      paths, std::move(pools), events, std::move(db), std::move(ipam), std::move(firewall)));

  GANTRY_RETURN_IF_ERROR(manager->db_->Read([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(sqlite::Statement query, conn.Prepare("SELECT stored FROM networks"));
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) return absl::OkStatus();
      GANTRY_ASSIGN_OR_RETURN(Network network,
                              Network::FromStored(nlohmann::json::parse(query.ColumnText(0))));
      manager->networks_.emplace(network.id, std::move(network));
    }
  }));
  GANTRY_RETURN_IF_ERROR(manager->EnsurePredefined());
  for (const auto& [id, network] : manager->networks_) {
    if (network.driver == "bridge") GANTRY_RETURN_IF_ERROR(manager->SetUpBridge(network));
  }
  return manager;
}

absl::Status NetworkManager::SaveNetwork(const Network& network) {
  return db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        sqlite::Statement insert,
        conn.Prepare(
            "INSERT INTO networks (id, name, stored) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name, stored = excluded.stored"));
    return insert.Bind(1, network.id)
        .Bind(2, network.name)
        .Bind(3, network.ToStored().dump())
        .Run();
  });
}

absl::Status NetworkManager::SaveEndpoint(const Endpoint& endpoint) {
  return db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        sqlite::Statement insert,
        conn.Prepare("INSERT OR REPLACE INTO endpoints (id, container_id, network_id, stored) "
                     "VALUES (?, ?, ?, ?)"));
    return insert.Bind(1, endpoint.id)
        .Bind(2, endpoint.container_id)
        .Bind(3, endpoint.network_id)
        .Bind(4, endpoint.ToStored().dump())
        .Run();
  });
}

absl::Status NetworkManager::DeleteEndpointRecord(const std::string& endpoint_id) {
  return db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(sqlite::Statement statement,
                            conn.Prepare("DELETE FROM endpoints WHERE id = ?"));
    return statement.Bind(1, endpoint_id).Run();
  });
}

std::vector<Endpoint> NetworkManager::LoadEndpoints(const std::string& where,
                                                    const std::string& value) {
  std::vector<Endpoint> endpoints;
  absl::Status status = db_->Read([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        sqlite::Statement query,
        conn.Prepare(where.empty() ? std::string("SELECT stored FROM endpoints ORDER BY id")
                                   : absl::StrCat("SELECT stored FROM endpoints WHERE ", where,
                                                  " = ? ORDER BY id")));
    if (!where.empty()) query.Bind(1, value);
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) return absl::OkStatus();
      endpoints.push_back(Endpoint::FromStored(nlohmann::json::parse(query.ColumnText(0))));
    }
  });
  if (!status.ok()) log::Warning("engined: reading endpoints: ", status.message());
  std::sort(endpoints.begin(), endpoints.end(),
            [](const Endpoint& a, const Endpoint& b) { return a.interface < b.interface; });
  return endpoints;
}

std::vector<Endpoint> NetworkManager::EndpointsOn(const std::string& network_id) {
  return LoadEndpoints("network_id", network_id);
}

absl::Status NetworkManager::EnsurePredefined() {
  std::set<std::string> names;
  for (const auto& [id, network] : networks_) names.insert(network.name);
  for (const auto& [name, driver] : std::vector<std::pair<std::string, std::string>>{
           {"bridge", "bridge"}, {"host", "host"}, {"none", "null"}}) {
    if (names.count(name)) continue;
    Network network;
    network.id = NewRandomId();
    network.name = name;
    network.driver = driver;
    network.created = absl::Now();
    if (driver == "bridge") {
      network.bridge = kDefaultBridge;
      GANTRY_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
      GANTRY_ASSIGN_OR_RETURN(std::vector<Ipv4Prefix> routes, netlink.Ipv4Routes());
      GANTRY_ASSIGN_OR_RETURN(std::vector<Ipv4Prefix> taken, ipam_->Subnets());
      GANTRY_ASSIGN_OR_RETURN(Ipv4Prefix subnet, ChooseSubnet(pools_, taken, routes));
      GANTRY_ASSIGN_OR_RETURN(NetworkAddressing addressing,
                              ipam_->AddNetwork(network.id, subnet, std::nullopt, std::nullopt));
      network.subnet = addressing.subnet;
      network.gateway = addressing.gateway;
      network.options = {{kBridgeNameOption, kDefaultBridge},
                         {"com.docker.network.bridge.default_bridge", "true"},
                         {"com.docker.network.bridge.enable_icc", "true"},
                         {"com.docker.network.bridge.enable_ip_masquerade", "true"},
                         {kMtuOption, "1500"}};
    }
    GANTRY_RETURN_IF_ERROR(SaveNetwork(network));
    networks_.emplace(network.id, std::move(network));
  }
  return absl::OkStatus();
}

absl::Status NetworkManager::SetUpBridge(const Network& network) {
  GANTRY_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
  GANTRY_ASSIGN_OR_RETURN(bool exists, netlink.LinkExists(network.bridge));
  if (!exists) {
    GANTRY_RETURN_IF_ERROR(netlink.CreateBridge(network.bridge, network.mtu));
    absl::Status status = netlink.AddAddress(
        network.bridge, Ipv4InterfaceAddress{*network.gateway, network.subnet->length()});
    if (status.ok()) status = netlink.SetUp(network.bridge);
    if (!status.ok()) {
      (void)netlink.DeleteLink(network.bridge);
      return Annotate(status, absl::StrCat("network ", network.name));
    }
  }
  return firewall_->AddNetwork({.tag = NetworkTag(network.id),
                                .bridge = network.bridge,
                                .subnet = *network.subnet,
                                .internal = network.internal});
}

absl::StatusOr<Network> NetworkManager::FindLocked(const std::string& ref) {
  if (auto it = networks_.find(ref); it != networks_.end()) return it->second;
  for (const auto& [id, network] : networks_) {
    if (network.name == ref) return network;
  }
  const Network* match = nullptr;
  for (const auto& [id, network] : networks_) {
    if (ref.empty() || !absl::StartsWith(id, ref)) continue;
    if (match) {
      return absl::InvalidArgumentError(
          absl::StrCat("network ", ref, " is ambiguous (2 matches found based on ID prefix)"));
    }
    match = &network;
  }
  if (!match) return absl::NotFoundError(absl::StrCat("network ", ref, " not found"));
  return *match;
}

absl::StatusOr<Network> NetworkManager::Get(const std::string& ref) {
  std::lock_guard lock(mu_);
  return FindLocked(ref);
}

std::vector<Network> NetworkManager::List() {
  std::lock_guard lock(mu_);
  std::vector<Network> list;
  for (const auto& [id, network] : networks_) list.push_back(network);
  return list;
}

absl::StatusOr<Network> NetworkManager::Create(const NetworkCreate& request) {
  if (!IsValidName(request.name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Name: invalid network name \"", request.name,
                     "\", only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"));
  }
  const std::string driver = request.driver.empty() ? "bridge" : request.driver;
  if (driver != "bridge" && driver != "macvlan") {
    return absl::NotFoundError(absl::StrCat("plugin \"", driver, "\" not found"));
  }
  if (driver == "macvlan") {
    auto parent = request.options.find(kParentOption);
    if (parent == request.options.end() || parent->second.empty()) {
      return absl::InvalidArgumentError("Options: parent: macvlan needs a parent interface");
    }
    if (auto mode = request.options.find(kMacvlanModeOption);
        mode != request.options.end() && mode->second != "bridge") {
      return absl::InvalidArgumentError(
          absl::StrCat("Options: macvlan_mode: \"", mode->second, "\" is not supported (bridge)"));
    }
    GANTRY_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    GANTRY_ASSIGN_OR_RETURN(bool exists, netlink.LinkExists(parent->second));
    if (!exists) {
      return absl::InvalidArgumentError(
          absl::StrCat("Options: parent: no interface \"", parent->second, "\""));
    }
  }
  Network network;
  network.id = NewRandomId();
  network.name = request.name;
  network.driver = driver;
  network.internal = request.internal;
  network.attachable = request.attachable;
  network.labels = request.labels;
  network.options = request.options;
  network.created = absl::Now();
  network.bridge = driver == "bridge" ? "br-" + network.id.substr(0, 12) : "";
  if (auto it = request.options.find(kBridgeNameOption); it != request.options.end()) {
    network.bridge = it->second;
  }
  if (driver == "bridge" && (network.bridge.empty() || network.bridge.size() > 15)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Options: ", kBridgeNameOption, " \"", network.bridge, "\" must be 1 to 15 characters"));
  }
  if (auto it = request.options.find(kMtuOption); it != request.options.end()) {
    if (!absl::SimpleAtoi(it->second, &network.mtu) || network.mtu < 68 || network.mtu > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("Options: ", kMtuOption, " \"", it->second, "\" is not a valid MTU"));
    }
  }
  std::optional<Ipv4Address> gateway;
  std::optional<Ipv4Prefix> ip_range;
  if (request.gateway) {
    absl::StatusOr<Ipv4Address> parsed = Ipv4Address::Parse(*request.gateway);
    if (!parsed.ok()) return Annotate(parsed.status(), "IPAM.Config.Gateway");
    gateway = *parsed;
  }
  if (request.ip_range) {
    absl::StatusOr<Ipv4Prefix> parsed = Ipv4Prefix::Parse(*request.ip_range);
    if (!parsed.ok()) return Annotate(parsed.status(), "IPAM.Config.IPRange");
    ip_range = *parsed;
  }

  std::lock_guard lock(mu_);
  for (const auto& [id, other] : networks_) {
    if (other.name == network.name) {
      return absl::AlreadyExistsError(
          absl::StrCat("network with name ", network.name, " already exists"));
    }
    if (!network.bridge.empty() && other.bridge == network.bridge) {
      return absl::AlreadyExistsError(absl::StrCat("Options: ", kBridgeNameOption, ": bridge ",
                                                   network.bridge, " is used by network ",
                                                   other.name));
    }
  }
  if (driver == "bridge") {
    // A device of the host's (its LAN bridge) is never adopted, so never
    // deleted with the network.
    GANTRY_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    GANTRY_ASSIGN_OR_RETURN(bool exists, netlink.LinkExists(network.bridge));
    if (exists) {
      return absl::AlreadyExistsError(absl::StrCat(
          "Options: ", kBridgeNameOption, ": a link named ", network.bridge, " exists already"));
    }
  }
  Ipv4Prefix subnet;
  if (request.subnet) {
    absl::StatusOr<Ipv4Prefix> parsed = Ipv4Prefix::Parse(*request.subnet);
    if (!parsed.ok()) return Annotate(parsed.status(), "IPAM.Config.Subnet");
    subnet = *parsed;
  } else {
    GANTRY_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    GANTRY_ASSIGN_OR_RETURN(std::vector<Ipv4Prefix> routes, netlink.Ipv4Routes());
    GANTRY_ASSIGN_OR_RETURN(std::vector<Ipv4Prefix> taken, ipam_->Subnets());
    GANTRY_ASSIGN_OR_RETURN(subnet, ChooseSubnet(pools_, taken, routes));
  }
  absl::StatusOr<NetworkAddressing> addressing =
      ipam_->AddNetwork(network.id, subnet, gateway, ip_range);
  if (!addressing.ok()) return Annotate(addressing.status(), "IPAM.Config");
  network.subnet = addressing->subnet;
  network.gateway = addressing->gateway;
  network.ip_range = ip_range;
  absl::Status status = driver == "bridge" ? SetUpBridge(network) : absl::OkStatus();
  if (status.ok()) status = SaveNetwork(network);
  if (!status.ok()) {
    (void)firewall_->DeleteRulesTagged(NetworkTag(network.id));
    if (absl::StatusOr<Netlink> netlink = Netlink::Open(); netlink.ok() && driver == "bridge") {
      (void)netlink->DeleteLink(network.bridge);
    }
    (void)ipam_->RemoveNetwork(network.id);
    return status;
  }
  networks_.emplace(network.id, network);
  events_.Publish("network", "create", network.id,
                  {{"name", network.name}, {"type", network.driver}});
  return network;
}

absl::Status NetworkManager::Remove(const std::string& ref) {
  std::lock_guard lock(mu_);
  GANTRY_ASSIGN_OR_RETURN(Network network, FindLocked(ref));
  if (network.predefined()) {
    return absl::PermissionDeniedError(
        absl::StrCat(network.name, " is a pre-defined network and cannot be removed"));
  }
  if (!EndpointsOn(network.id).empty()) {
    return absl::FailedPreconditionError(absl::StrCat("error while removing network: network ",
                                                      network.name, " id ", network.id,
                                                      " has active endpoints"));
  }
  GANTRY_RETURN_IF_ERROR(firewall_->DeleteRulesTagged(NetworkTag(network.id)));
  if (network.driver == "bridge") {
    GANTRY_ASSIGN_OR_RETURN(Netlink netlink, Netlink::Open());
    GANTRY_RETURN_IF_ERROR(netlink.DeleteLink(network.bridge));
  }
  GANTRY_RETURN_IF_ERROR(ipam_->RemoveNetwork(network.id));
  GANTRY_RETURN_IF_ERROR(db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(sqlite::Statement statement,
                            conn.Prepare("DELETE FROM networks WHERE id = ?"));
    return statement.Bind(1, network.id).Run();
  }));
  networks_.erase(network.id);
  events_.Publish("network", "destroy", network.id,
                  {{"name", network.name}, {"type", network.driver}});
  return absl::OkStatus();
}

std::string NetworkManager::NetnsPath(const std::string& container_id) const {
  return absl::StrCat(paths_.exec_root, "/netns/", container_id);
}

absl::StatusOr<Endpoint> NetworkManager::AddEndpoint(const Network& network,
                                                     const std::string& container_id,
                                                     const std::string& container_name,
                                                     const nlohmann::json& settings, int index,
                                                     bool primary) {
  std::optional<Ipv4Address> requested;
  const nlohmann::json ipam_config =
      settings.is_object() ? settings.value("IPAMConfig", nlohmann::json()) : nlohmann::json();
  if (ipam_config.is_object()) {
    if (const std::string ip = ipam_config.value("IPv4Address", ""); !ip.empty()) {
      absl::StatusOr<Ipv4Address> parsed = Ipv4Address::Parse(ip);
      if (!parsed.ok()) return Annotate(parsed.status(), "EndpointSettings.IPAMConfig.IPv4Address");
      if (network.predefined()) {
        return absl::InvalidArgumentError(
            "user specified IP address is supported on user defined networks only");
      }
      requested = *parsed;
    }
  }
  Endpoint endpoint;
  endpoint.id = NewRandomId();
  endpoint.container_id = container_id;
  endpoint.container_name = container_name;
  endpoint.network_id = network.id;
  endpoint.interface = absl::StrCat("eth", index);
  // A macvlan endpoint has no host side: its link dies with the namespace.
  const bool macvlan = network.driver == "macvlan";
  endpoint.host_veth = macvlan ? "" : "veth" + RandomSuffix();
  if (settings.is_object() && settings.contains("Aliases") && settings["Aliases"].is_array()) {
    for (const nlohmann::json& alias : settings["Aliases"]) {
      if (alias.is_string()) endpoint.aliases.push_back(alias.get<std::string>());
    }
  }
  absl::StatusOr<Ipv4Address> address = ipam_->Allocate(network.id, container_id, requested);
  if (!address.ok()) {
    return Annotate(address.status(), absl::StrCat("network ", network.name));
  }
  endpoint.address = *address;
  endpoint.mac = MacAddressFor(endpoint.address);

  const std::string peer = (macvlan ? "mv" : "vp") + RandomSuffix();
  const std::string netns = NetnsPath(container_id);
  absl::Status status = [&]() -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(Netlink host, Netlink::Open());
    if (macvlan) {
      GANTRY_RETURN_IF_ERROR(
          host.CreateMacvlan(peer, network.options.at(kParentOption), network.mtu));
    } else {
      GANTRY_RETURN_IF_ERROR(host.CreateVethPair(endpoint.host_veth, peer, network.mtu));
      GANTRY_RETURN_IF_ERROR(host.AttachToBridge(endpoint.host_veth, network.bridge));
      GANTRY_RETURN_IF_ERROR(host.SetUp(endpoint.host_veth));
    }
    GANTRY_ASSIGN_OR_RETURN(UniqueFd netns_fd, OpenNetworkNamespace(netns));
    GANTRY_RETURN_IF_ERROR(host.MoveToNamespace(peer, netns_fd.get()));
    GANTRY_RETURN_IF_ERROR(RunInNetworkNamespace(netns, [&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(Netlink inside, Netlink::Open());
      GANTRY_RETURN_IF_ERROR(inside.Rename(peer, endpoint.interface));
      GANTRY_RETURN_IF_ERROR(inside.SetMacAddress(endpoint.interface, endpoint.mac));
      GANTRY_RETURN_IF_ERROR(inside.AddAddress(
          endpoint.interface, Ipv4InterfaceAddress{endpoint.address, network.subnet->length()}));
      GANTRY_RETURN_IF_ERROR(inside.SetUp(endpoint.interface));
      if (primary && !network.internal) {
        GANTRY_RETURN_IF_ERROR(inside.AddDefaultRoute(*network.gateway));
      }
      return absl::OkStatus();
    }));
    return SaveEndpoint(endpoint);
  }();
  if (!status.ok()) {
    if (absl::StatusOr<Netlink> host = Netlink::Open(); host.ok()) {
      // The veth takes its peer along; a macvlan not moved yet goes by name.
      (void)host->DeleteLink(macvlan ? peer : endpoint.host_veth);
    }
    (void)ipam_->Release(network.id, endpoint.address, container_id);
    return Annotate(status, absl::StrCat("connect to network ", network.name));
  }
  return endpoint;
}

void NetworkManager::RemoveEndpoint(const Endpoint& endpoint) {
  if (absl::StatusOr<Netlink> host = Netlink::Open(); host.ok() && !endpoint.host_veth.empty()) {
    if (absl::Status status = host->DeleteLink(endpoint.host_veth); !status.ok()) {
      log::Warning("engined: ", endpoint.host_veth, ": ", status.message());
    }
  }
  (void)ipam_->Release(endpoint.network_id, endpoint.address, endpoint.container_id);
  (void)DeleteEndpointRecord(endpoint.id);
}

absl::Status NetworkManager::Publish(Endpoint& endpoint, const Network& network, Live& live) {
  for (PortMapping& mapping : endpoint.ports) {
    GANTRY_ASSIGN_OR_RETURN(Ipv4Address host_ip, Ipv4Address::Parse(mapping.host_ip));
    absl::StatusOr<std::unique_ptr<PortProxy>> proxy =
        PortProxy::Start(io_, {.protocol = mapping.protocol,
                               .host_ip = host_ip,
                               .host_port = mapping.host_port,
                               .container_ip = endpoint.address,
                               .container_port = mapping.container_port});
    if (!proxy.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("driver failed programming external connectivity on endpoint ",
                       endpoint.container_name, ": Bind for ", mapping.host_ip, ":",
                       mapping.host_port, " failed: port is already allocated"));
    }
    mapping.host_port = (*proxy)->host_port();
    live.proxies.push_back(*std::move(proxy));
    GANTRY_RETURN_IF_ERROR(firewall_->AddPortMapping(
        {.tag = ContainerTag(endpoint.container_id),
         .protocol = mapping.protocol,
         .host_ip = host_ip.value() == 0 ? std::nullopt : std::optional<Ipv4Address>(host_ip),
         .host_port = mapping.host_port,
         .container_ip = endpoint.address,
         .container_port = mapping.container_port,
         .bridge = network.bridge}));
  }
  return absl::OkStatus();
}

absl::Status NetworkManager::StartDns(const std::string& container_id, Live& live) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd socket,
                          OpenSocketInNamespace(NetnsPath(container_id), AF_INET, SOCK_DGRAM));
  GANTRY_ASSIGN_OR_RETURN(live.dns, DnsServer::Start(
                                        io_, std::move(socket),
                                        [this, container_id](const std::string& name) {
                                          return Lookup(container_id, name);
                                        },
                                        HostNameservers()));
  return absl::OkStatus();
}

std::optional<Ipv4Address> NetworkManager::Lookup(const std::string& container_id,
                                                  const std::string& name) {
  std::set<std::string> user_networks;
  {
    std::lock_guard lock(mu_);
    for (const Endpoint& own : LoadEndpoints("container_id", container_id)) {
      auto it = networks_.find(own.network_id);
      if (it != networks_.end() && !it->second.predefined()) user_networks.insert(own.network_id);
    }
  }
  for (const std::string& network_id : user_networks) {
    for (const Endpoint& peer : LoadEndpoints("network_id", network_id)) {
      const bool match =
          absl::AsciiStrToLower(peer.container_name) == name ||
          peer.container_id.substr(0, 12) == name || peer.container_id == name ||
          std::any_of(peer.aliases.begin(), peer.aliases.end(),
                      [&](const std::string& a) { return absl::AsciiStrToLower(a) == name; });
      if (match) return peer.address;
    }
  }
  return std::nullopt;
}

absl::StatusOr<Sandbox> NetworkManager::Attach(const SandboxRequest& request) {
  std::lock_guard sandboxes(sandbox_mu_);
  Sandbox sandbox;
  sandbox.netns_path = NetnsPath(request.container_id);
  Live live;
  std::vector<Endpoint> made;
  absl::Status status = [&]() -> absl::Status {
    std::vector<std::pair<Network, nlohmann::json>> networks;
    {
      std::lock_guard lock(mu_);
      for (const auto& [ref, settings] : request.networks) {
        GANTRY_ASSIGN_OR_RETURN(Network network, FindLocked(ref));
        if (network.driver == "host") {
          return absl::InvalidArgumentError("container cannot be connected to host network");
        }
        networks.emplace_back(std::move(network), settings);
      }
    }
    // A sandbox a crash left behind goes first.
    GANTRY_RETURN_IF_ERROR(RemoveNetworkNamespace(sandbox.netns_path));
    GANTRY_RETURN_IF_ERROR(CreateNetworkNamespace(sandbox.netns_path));
    GANTRY_RETURN_IF_ERROR(RunInNetworkNamespace(sandbox.netns_path, []() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(Netlink inside, Netlink::Open());
      return inside.SetUp("lo");
    }));
    const Network* primary = nullptr;
    for (const auto& [network, settings] : networks) {
      if (!network.has_endpoints()) continue;  // none: loopback only
      GANTRY_ASSIGN_OR_RETURN(Endpoint endpoint,
                              AddEndpoint(network, request.container_id, request.container_name,
                                          settings, static_cast<int>(made.size()), made.empty()));
      if (made.empty()) primary = &network;
      made.push_back(std::move(endpoint));
      sandbox.embedded_dns = sandbox.embedded_dns || !network.predefined();
    }
    // Ports are published on a bridge network only, as Docker does.
    if (primary != nullptr && primary->driver == "bridge") {
      GANTRY_ASSIGN_OR_RETURN(
          made.front().ports,
          ParsePortBindings(request.port_bindings, request.publish_all, request.exposed_ports));
      GANTRY_RETURN_IF_ERROR(Publish(made.front(), *primary, live));
      GANTRY_RETURN_IF_ERROR(SaveEndpoint(made.front()));
    }
    if (sandbox.embedded_dns) GANTRY_RETURN_IF_ERROR(StartDns(request.container_id, live));
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    live = Live();  // proxies and DNS stop before their rules and links go
    (void)firewall_->DeleteRulesTagged(ContainerTag(request.container_id));
    for (const Endpoint& endpoint : made) RemoveEndpoint(endpoint);
    (void)RemoveNetworkNamespace(sandbox.netns_path);
    return status;
  }
  Install(request.container_id, std::move(live));
  sandbox.endpoints = std::move(made);
  for (const Endpoint& endpoint : sandbox.endpoints) {
    absl::StatusOr<Network> network = Get(endpoint.network_id);
    events_.Publish("network", "connect", endpoint.network_id,
                    {{"container", request.container_id},
                     {"name", network.ok() ? network->name : ""},
                     {"type", network.ok() ? network->driver : ""}});
  }
  return sandbox;
}

void NetworkManager::Install(const std::string& container_id, Live live) {
  Live previous;
  {
    std::lock_guard lock(mu_);
    previous = std::exchange(live_[container_id], std::move(live));
  }
  // `previous` stops here, outside mu_: stopping waits for the io thread,
  // which may be looking a name up under mu_.
}

NetworkManager::Live NetworkManager::TakeLive(const std::string& container_id) {
  std::lock_guard lock(mu_);
  Live live;
  if (auto it = live_.find(container_id); it != live_.end()) {
    live = std::move(it->second);
    live_.erase(it);
  }
  return live;
}

void NetworkManager::Detach(const std::string& container_id) {
  std::lock_guard sandboxes(sandbox_mu_);
  TakeLive(container_id);  // stopped outside mu_
  (void)firewall_->DeleteRulesTagged(ContainerTag(container_id));
  for (const Endpoint& endpoint : LoadEndpoints("container_id", container_id)) {
    RemoveEndpoint(endpoint);
    absl::StatusOr<Network> network = Get(endpoint.network_id);
    events_.Publish("network", "disconnect", endpoint.network_id,
                    {{"container", container_id},
                     {"name", network.ok() ? network->name : ""},
                     {"type", network.ok() ? network->driver : ""}});
  }
  if (absl::Status status = RemoveNetworkNamespace(NetnsPath(container_id)); !status.ok()) {
    log::Warning("engined: ", status.message());
  }
}

absl::StatusOr<Endpoint> NetworkManager::Connect(const std::string& container_id,
                                                 const std::string& container_name,
                                                 const std::string& network_ref,
                                                 const nlohmann::json& endpoint_settings) {
  std::lock_guard sandboxes(sandbox_mu_);
  GANTRY_ASSIGN_OR_RETURN(Network network, Get(network_ref));
  if (!network.has_endpoints()) {
    return absl::FailedPreconditionError(absl::StrCat("container cannot be disconnected from ",
                                                      network.driver, " network or connected to ",
                                                      network.driver, " network"));
  }
  struct stat st {};
  if (::stat(NetnsPath(container_id).c_str(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", container_id, " has no network namespace (not running)"));
  }
  const std::vector<Endpoint> existing = LoadEndpoints("container_id", container_id);
  std::set<std::string> interfaces;
  for (const Endpoint& e : existing) {
    if (e.network_id == network.id) {
      return absl::AlreadyExistsError(absl::StrCat("endpoint with name ", container_name,
                                                   " already exists in network ", network.name));
    }
    interfaces.insert(e.interface);
  }
  int index = 0;  // the lowest free ethN (a disconnect may have freed one)
  while (interfaces.count(absl::StrCat("eth", index))) ++index;
  GANTRY_ASSIGN_OR_RETURN(Endpoint endpoint,
                          AddEndpoint(network, container_id, container_name, endpoint_settings,
                                      index, existing.empty()));
  if (!network.predefined()) {
    bool has_dns = false;
    {
      std::lock_guard lock(mu_);
      has_dns = live_.count(container_id) && live_[container_id].dns;
    }
    Live dns;
    if (!has_dns) {
      if (absl::Status status = StartDns(container_id, dns); !status.ok()) {
        log::Warning("engined: DNS for ", container_id, ": ", status.message());
      } else {
        std::lock_guard lock(mu_);
        live_[container_id].dns = std::move(dns.dns);
      }
    }
  }
  events_.Publish("network", "connect", network.id,
                  {{"container", container_id}, {"name", network.name}, {"type", network.driver}});
  return endpoint;
}

absl::Status NetworkManager::Disconnect(const std::string& container_id,
                                        const std::string& network_id) {
  std::lock_guard sandboxes(sandbox_mu_);
  for (const Endpoint& endpoint : LoadEndpoints("container_id", container_id)) {
    if (endpoint.network_id != network_id) continue;
    if (!endpoint.ports.empty()) {
      // Its published ports go with it: nothing may forward to an address
      // that is given back.
      Live proxies;
      {
        std::lock_guard lock(mu_);
        if (auto it = live_.find(container_id); it != live_.end()) {
          proxies.proxies = std::move(it->second.proxies);
        }
      }
      proxies = Live();
      (void)firewall_->DeleteRulesTagged(ContainerTag(container_id));
    }
    RemoveEndpoint(endpoint);
    absl::StatusOr<Network> network = Get(network_id);
    events_.Publish("network", "disconnect", network_id,
                    {{"container", container_id},
                     {"name", network.ok() ? network->name : ""},
                     {"type", network.ok() ? network->driver : ""}});
    return absl::OkStatus();
  }
  return absl::NotFoundError(
      absl::StrCat("container ", container_id, " is not connected to network ", network_id));
}

absl::Status NetworkManager::Resume(const std::string& container_id) {
  std::lock_guard sandboxes(sandbox_mu_);
  std::vector<Endpoint> endpoints = LoadEndpoints("container_id", container_id);
  Live live;  // outside mu_: on failure it stops before the rules go
  absl::Status status = [&]() -> absl::Status {
    bool dns = false;
    for (Endpoint& endpoint : endpoints) {
      absl::StatusOr<Network> network = Get(endpoint.network_id);
      if (!network.ok()) continue;
      dns = dns || !network->predefined();
      if (!endpoint.ports.empty()) GANTRY_RETURN_IF_ERROR(Publish(endpoint, *network, live));
    }
    if (dns) GANTRY_RETURN_IF_ERROR(StartDns(container_id, live));
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    live = Live();
    (void)firewall_->DeleteRulesTagged(ContainerTag(container_id));
    return status;
  }
  Install(container_id, std::move(live));
  return absl::OkStatus();
}

void NetworkManager::RemoveStale(const std::set<std::string>& running) {
  std::set<std::string> stale;
  for (const Endpoint& endpoint : LoadEndpoints("", "")) {
    if (!running.count(endpoint.container_id)) stale.insert(endpoint.container_id);
  }
  for (const std::string& id : ListDirectoryIfAny(absl::StrCat(paths_.exec_root, "/netns"))) {
    if (!running.count(id)) stale.insert(id);
  }
  for (const std::string& id : stale) Detach(id);
}

nlohmann::json NetworkManager::Settings(const std::string& container_id,
                                        const nlohmann::json& networks_config,
                                        const std::vector<std::string>& exposed_ports) {
  const std::vector<Endpoint> endpoints = LoadEndpoints("container_id", container_id);
  nlohmann::json settings = {{"Bridge", ""},
                             {"SandboxID", endpoints.empty() ? "" : container_id},
                             {"SandboxKey", endpoints.empty() ? "" : NetnsPath(container_id)},
                             {"HairpinMode", false},
                             {"LinkLocalIPv6Address", ""},
                             {"LinkLocalIPv6PrefixLen", 0},
                             {"SecondaryIPAddresses", nullptr},
                             {"SecondaryIPv6Addresses", nullptr},
                             {"EndpointID", ""},
                             {"Gateway", ""},
                             {"GlobalIPv6Address", ""},
                             {"GlobalIPv6PrefixLen", 0},
                             {"IPAddress", ""},
                             {"IPPrefixLen", 0},
                             {"IPv6Gateway", ""},
                             {"MacAddress", ""}};
  nlohmann::json ports = nlohmann::json::object();
  if (!endpoints.empty()) {
    for (const std::string& exposed : exposed_ports) ports[exposed] = nullptr;
    for (const Endpoint& endpoint : endpoints) {
      for (const PortMapping& p : endpoint.ports) {
        nlohmann::json& list = ports[absl::StrCat(p.container_port, "/", p.protocol)];
        if (!list.is_array()) list = nlohmann::json::array();
        list.push_back({{"HostIp", p.host_ip}, {"HostPort", std::to_string(p.host_port)}});
      }
    }
  }
  settings["Ports"] = ports;
  nlohmann::json networks = nlohmann::json::object();
  std::lock_guard lock(mu_);
  const nlohmann::json configs =
      networks_config.is_object() ? networks_config : nlohmann::json::object();
  for (const auto& [ref, given] : configs.items()) {
    const nlohmann::json config = given.is_object() ? given : nlohmann::json::object();
    absl::StatusOr<Network> network = FindLocked(ref);
    nlohmann::json entry = {{"IPAMConfig", config.value("IPAMConfig", nlohmann::json())},
                            {"Links", nullptr},
                            {"Aliases", config.value("Aliases", nlohmann::json())},
                            {"MacAddress", ""},
                            {"NetworkID", network.ok() ? network->id : ""},
                            {"EndpointID", ""},
                            {"Gateway", ""},
                            {"IPAddress", ""},
                            {"IPPrefixLen", 0},
                            {"IPv6Gateway", ""},
                            {"GlobalIPv6Address", ""},
                            {"GlobalIPv6PrefixLen", 0},
                            {"DriverOpts", nullptr},
                            {"DNSNames", nullptr}};
    for (const Endpoint& endpoint : endpoints) {
      if (!network.ok() || endpoint.network_id != network->id) continue;
      entry["MacAddress"] = endpoint.mac;
      entry["EndpointID"] = endpoint.id;
      entry["Gateway"] = network->gateway ? network->gateway->ToString() : "";
      entry["IPAddress"] = endpoint.address.ToString();
      entry["IPPrefixLen"] = network->subnet ? network->subnet->length() : 0;
      if (!network->predefined()) {
        nlohmann::json names = {endpoint.container_name, container_id.substr(0, 12)};
        for (const std::string& alias : endpoint.aliases) names.push_back(alias);
        entry["DNSNames"] = names;
      }
      if (network->name == "bridge") {
        for (const char* key :
             {"EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress"}) {
          settings[key] = entry[key];
        }
      }
    }
    networks[network.ok() ? network->name : ref] = entry;
  }
  settings["Networks"] = networks;
  return settings;
}

nlohmann::json NetworkManager::Inspect(const Network& network) {
  nlohmann::json config = nlohmann::json::array();
  if (network.subnet) {
    nlohmann::json entry = {{"Subnet", network.subnet->ToString()},
                            {"Gateway", network.gateway ? network.gateway->ToString() : ""}};
    if (network.ip_range) entry["IPRange"] = network.ip_range->ToString();
    config.push_back(entry);
  }
  nlohmann::json containers = nlohmann::json::object();
  for (const Endpoint& e : EndpointsOn(network.id)) {
    containers[e.container_id] = {
        {"Name", e.container_name},
        {"EndpointID", e.id},
        {"MacAddress", e.mac},
        {"IPv4Address",
         absl::StrCat(e.address.ToString(), "/", network.subnet ? network.subnet->length() : 32)},
        {"IPv6Address", ""}};
  }
  return {{"Name", network.name},
          {"Id", network.id},
          {"Created", DockerTime(network.created)},
          {"Scope", "local"},
          {"Driver", network.driver},
          {"EnableIPv6", false},
          {"IPAM", {{"Driver", "default"}, {"Options", nullptr}, {"Config", config}}},
          {"Internal", network.internal},
          {"Attachable", network.attachable},
          {"Ingress", false},
          {"ConfigFrom", {{"Network", ""}}},
          {"ConfigOnly", false},
          {"Containers", containers},
          {"Options", network.options},
          {"Labels", network.labels}};
}

}  // namespace gantry::engined::network
