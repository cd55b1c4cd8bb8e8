// engined's networks, as dockerd's libnetwork with its bridge driver: the
// predefined `bridge` (device gantry0), `host` and `none` networks and
// user-defined bridge networks; a network namespace per container (the
// "sandbox", bound under <exec-root>/netns) with a veth on each network it
// joins; addresses from IPAM; NAT, isolation and published ports in
// nftables plus a userland proxy; the embedded DNS server on user-defined
// networks. Networks and endpoints live in SQLite under
// <data-root>/network, so a restarted engined puts back the rules, proxies
// and DNS of running containers and cleans up after the others.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sqlite_database.h"
#include "engined/daemon/event_hub.h"
#include "engined/network/dns_server.h"
#include "engined/network/ipam.h"
#include "engined/network/nftables.h"
#include "engined/network/port_proxy.h"

namespace gantry::engined::network {

struct Network {
  std::string id;
  std::string name;
  std::string driver;  // "bridge", "macvlan", "host", "null"
  std::string bridge;  // the bridge device
  std::optional<Ipv4Prefix> subnet;
  std::optional<Ipv4Address> gateway;
  std::optional<Ipv4Prefix> ip_range;
  bool internal = false;
  bool attachable = false;
  int mtu = 1500;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;
  absl::Time created;

  // The predefined ones (bridge, host, none) cannot be removed.
  bool predefined() const { return name == "bridge" || name == "host" || name == "none"; }
  // Containers on it get endpoints (bridge or macvlan), and DNS when user-defined.
  bool has_endpoints() const { return driver == "bridge" || driver == "macvlan"; }
  nlohmann::json ToStored() const;
  static absl::StatusOr<Network> FromStored(const nlohmann::json& stored);
};

// One published port: container port/proto to a host address and port.
struct PortMapping {
  std::string protocol = "tcp";
  uint16_t container_port = 0;
  std::string host_ip = "0.0.0.0";
  uint16_t host_port = 0;  // 0 until bound: an ephemeral port
};

// A container's attachment to one network.
struct Endpoint {
  std::string id;
  std::string container_id;
  std::string container_name;
  std::string network_id;
  std::string interface;  // eth0, eth1 ...
  std::string host_veth;
  Ipv4Address address;
  std::string mac;
  std::vector<std::string> aliases;
  std::vector<PortMapping> ports;  // the first endpoint's, when published

  nlohmann::json ToStored() const;
  static Endpoint FromStored(const nlohmann::json& stored);
};

// POST /networks/create.
struct NetworkCreate {
  std::string name;
  std::string driver = "bridge";
  std::optional<std::string> subnet, gateway, ip_range;
  bool internal = false;
  bool attachable = false;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;
};

// What a container asks of its networks when it starts.
struct SandboxRequest {
  std::string container_id;
  std::string container_name;
  // Network name or ID -> Docker's EndpointSettings (IPAMConfig.IPv4Address,
  // Aliases), the primary (NetworkMode's) first.
  std::vector<std::pair<std::string, nlohmann::json>> networks;
  nlohmann::json port_bindings;  // HostConfig.PortBindings
  bool publish_all = false;
  std::vector<std::string> exposed_ports;  // "80/tcp"
};

struct Sandbox {
  std::string netns_path;
  std::vector<Endpoint> endpoints;
  bool embedded_dns = false;  // on a user-defined network: resolv.conf names 127.0.0.11
};

struct NetworkPaths {
  std::string data_root;
  std::string exec_root;
};

// HostConfig.PortBindings and ExposedPorts as mappings to make; errors name
// the field. Pure, for create-time validation.
absl::StatusOr<std::vector<PortMapping>> ParsePortBindings(const nlohmann::json& port_bindings,
                                                           bool publish_all,
                                                           const std::vector<std::string>& exposed);

class NetworkManager {
 public:
  static absl::StatusOr<std::unique_ptr<NetworkManager>> Open(const NetworkPaths& paths,
                                                              std::vector<AddressPool> pools,
                                                              EventHub& events);
  ~NetworkManager();
  NetworkManager(const NetworkManager&) = delete;
  NetworkManager& operator=(const NetworkManager&) = delete;

  absl::StatusOr<Network> Create(const NetworkCreate& request);
  // By full ID, name, or unique ID prefix; NOT_FOUND "network X not found".
  absl::StatusOr<Network> Get(const std::string& ref);
  std::vector<Network> List();
  // FAILED_PRECONDITION while containers are attached; PERMISSION_DENIED
  // for the predefined networks.
  absl::Status Remove(const std::string& ref);
  std::vector<Endpoint> EndpointsOn(const std::string& network_id);

  // The container starts: its namespace, an endpoint per network, its
  // published ports and DNS. Nothing is left when it fails.
  absl::StatusOr<Sandbox> Attach(const SandboxRequest& request);
  // The container stopped (or engined found it gone): endpoints, rules,
  // proxies, DNS server and namespace go, addresses are released. Idempotent.
  void Detach(const std::string& container_id);
  // Joins a running container's sandbox to one more network (docker
  // network connect).
  absl::StatusOr<Endpoint> Connect(const std::string& container_id,
                                   const std::string& container_name,
                                   const std::string& network_ref,
                                   const nlohmann::json& endpoint_settings);
  absl::Status Disconnect(const std::string& container_id, const std::string& network_id);
  // After an engined restart, for a container that still runs: its rules,
  // proxies and DNS server come back. NOT_FOUND when it has no sandbox.
  absl::Status Resume(const std::string& container_id);
  // Sandboxes and endpoints of containers not in `running` go (startup).
  void RemoveStale(const std::set<std::string>& running);

  // Docker's NetworkSettings for a container: its endpoints on the
  // networks named in `networks` (EndpointsConfig), published and exposed
  // ports, sandbox.
  nlohmann::json Settings(const std::string& container_id, const nlohmann::json& networks,
                          const std::vector<std::string>& exposed_ports);
  // Docker's network JSON (GET /networks/{id}), with attached containers.
  nlohmann::json Inspect(const Network& network);

 private:
  NetworkManager(NetworkPaths paths, std::vector<AddressPool> pools, EventHub& events,
                 std::unique_ptr<sqlite::Database> db, std::unique_ptr<Ipam> ipam,
                 std::unique_ptr<Firewall> firewall);

  struct Live {  // what runs for a container, in this process
    std::vector<std::unique_ptr<PortProxy>> proxies;
    std::unique_ptr<DnsServer> dns;
  };

  absl::Status EnsurePredefined();
  absl::Status SetUpBridge(const Network& network);  // device, address, rules
  absl::Status SaveNetwork(const Network& network);
  absl::Status SaveEndpoint(const Endpoint& endpoint);
  absl::Status DeleteEndpointRecord(const std::string& endpoint_id);
  std::vector<Endpoint> LoadEndpoints(const std::string& where, const std::string& value);
  absl::StatusOr<Network> FindLocked(const std::string& ref);
  std::string NetnsPath(const std::string& container_id) const;
  // One veth into the sandbox, addressed; the endpoint is saved.
  absl::StatusOr<Endpoint> AddEndpoint(const Network& network, const std::string& container_id,
                                       const std::string& container_name,
                                       const nlohmann::json& settings, int index, bool primary);
  void RemoveEndpoint(const Endpoint& endpoint);
  // Installs a container's live proxies and DNS (what it had stops).
  void Install(const std::string& container_id, Live live);
  // Removes them from live_; the caller lets them stop, outside mu_.
  Live TakeLive(const std::string& container_id);
  absl::Status Publish(Endpoint& endpoint, const Network& network, Live& live);
  absl::Status StartDns(const std::string& container_id, Live& live);
  std::optional<Ipv4Address> Lookup(const std::string& container_id, const std::string& name);

  const NetworkPaths paths_;
  const std::vector<AddressPool> pools_;
  EventHub& events_;
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<Ipam> ipam_;
  std::unique_ptr<Firewall> firewall_;

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread io_thread_;

  // Serialises the sandbox changes (attach, detach, connect, disconnect,
  // resume) of all containers; never taken by the io thread.
  std::mutex sandbox_mu_;
  // Guards networks_ and live_; held briefly, by the DNS lookups on the io
  // thread too, so nothing that waits for the io thread runs under it.
  std::mutex mu_;
  std::map<std::string, Network> networks_;  // by ID
  std::map<std::string, Live> live_;         // by container ID
};

}  // namespace gantry::engined::network
