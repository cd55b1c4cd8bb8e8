// IPv4 address management for bridge networks: which subnet a new network
// gets (daemon.json's default-address-pools, Docker's defaults otherwise,
// skipping subnets that overlap existing networks or the host's routes), and
// which addresses its endpoints get. Allocations live in SQLite so that a
// restart of engined, even after SIGKILL, never hands an address out twice.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "common/sqlite_database.h"
#include "engined/network/ipv4.h"

namespace gantry::engined::network {

// {"base": "172.17.0.0/16", "size": 16}: `base` cut into subnets of /size.
struct AddressPool {
  Ipv4Prefix base;
  int size = 0;
};

// Docker's local-scope defaults (libnetwork ipamutils): 172.17.0.0/16 through
// 172.31.0.0/16 as /16s, then 192.168.0.0/16 as /20s.
std::vector<AddressPool> DefaultAddressPools();

// daemon.json's "default-address-pools" value: an array of {base, size}.
absl::StatusOr<std::vector<AddressPool>> ParseAddressPools(const nlohmann::json& pools);

// The first subnet of `pools`, in order, that overlaps none of `networks`
// (subnets of existing networks) and none of `routes` (destinations of the
// host's routes; default routes, /0, are ignored as Docker ignores them).
// RESOURCE_EXHAUSTED when every subnet is taken.
absl::StatusOr<Ipv4Prefix> ChooseSubnet(const std::vector<AddressPool>& pools,
                                        const std::vector<Ipv4Prefix>& networks,
                                        const std::vector<Ipv4Prefix>& routes);

// A network's addressing as IPAM keeps it.
struct NetworkAddressing {
  std::string network_id;
  Ipv4Prefix subnet;
  Ipv4Address gateway;
  // Where endpoint addresses come from; the whole subnet unless given.
  Ipv4Prefix ip_range;
};

struct AddressAllocation {
  Ipv4Address address;
  std::string owner;  // e.g. an endpoint or container id
};

class Ipam {
 public:
  // Opens (creating) the database file at `path`.
  static absl::StatusOr<std::unique_ptr<Ipam>> Open(const std::string& path);

  // Registers a network's subnet. `gateway` defaults to the subnet's first
  // host address and must lie in the subnet; `ip_range` must lie in the
  // subnet. ALREADY_EXISTS for a known id; FAILED_PRECONDITION when the
  // subnet overlaps another registered network's.
  absl::StatusOr<NetworkAddressing> AddNetwork(const std::string& network_id, Ipv4Prefix subnet,
                                               std::optional<Ipv4Address> gateway,
                                               std::optional<Ipv4Prefix> ip_range);
  // Forgets the network and all its allocations; unknown ids are fine.
  absl::Status RemoveNetwork(const std::string& network_id);
  absl::StatusOr<std::vector<NetworkAddressing>> Networks();
  // Subnets of all registered networks, for ChooseSubnet.
  absl::StatusOr<std::vector<Ipv4Prefix>> Subnets();

  // Hands `owner` an address of the network: `requested` when given (it must
  // be in the subnet, not the network, broadcast or gateway address, and
  // free: ALREADY_EXISTS otherwise), else the lowest free one of the
  // ip-range. RESOURCE_EXHAUSTED when none is left.
  absl::StatusOr<Ipv4Address> Allocate(const std::string& network_id, const std::string& owner,
                                       std::optional<Ipv4Address> requested = std::nullopt);
  // Gives an address back; releasing a free address is fine.
  // With `owner`, only its own allocation goes: a late second release never
  // frees an address handed meanwhile to someone else.
  absl::Status Release(const std::string& network_id, Ipv4Address address,
                       const std::string& owner = "");
  absl::StatusOr<std::vector<AddressAllocation>> Allocations(const std::string& network_id);

 private:
  explicit Ipam(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace gantry::engined::network
