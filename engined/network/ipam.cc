#include "engined/network/ipam.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::engined::network {
namespace {

const std::vector<sqlite::SchemaComponent>& Schema() {
  static const auto* schema = new std::vector<sqlite::SchemaComponent>{
      {"ipam", {R"sql(
CREATE TABLE ipam_networks (
  id TEXT PRIMARY KEY,
  subnet TEXT NOT NULL,
  gateway TEXT NOT NULL,
  ip_range TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE ipam_addresses (
  network_id TEXT NOT NULL REFERENCES ipam_networks (id) ON DELETE CASCADE,
  address INTEGER NOT NULL,
  owner TEXT NOT NULL,
  PRIMARY KEY (network_id, address)
) WITHOUT ROWID;
)sql"}},
  };
  return *schema;
}

// A stored row back as values; the text was written by ToString, so a parse
// failure means the file was edited or damaged.
absl::StatusOr<NetworkAddressing> NetworkFromRow(const sqlite::Statement& row) {
  NetworkAddressing network;
  network.network_id = row.ColumnText(0);
  absl::StatusOr<Ipv4Prefix> subnet = Ipv4Prefix::Parse(row.ColumnText(1));
  absl::StatusOr<Ipv4Address> gateway = Ipv4Address::Parse(row.ColumnText(2));
  absl::StatusOr<Ipv4Prefix> ip_range = Ipv4Prefix::Parse(row.ColumnText(3));
  for (const absl::Status& status : {subnet.status(), gateway.status(), ip_range.status()}) {
    if (!status.ok()) {
      return absl::DataLossError(
          absl::StrCat("ipam: network ", network.network_id, ": ", status.message()));
    }
  }
  network.subnet = *subnet;
  network.gateway = *gateway;
  network.ip_range = *ip_range;
  return network;
}

constexpr const char* kSelectNetworks = "SELECT id, subnet, gateway, ip_range FROM ipam_networks";

absl::StatusOr<NetworkAddressing> LoadNetwork(sqlite::Connection& conn,
                                              const std::string& network_id) {
  GANTRY_ASSIGN_OR_RETURN(sqlite::Statement query,
                          conn.Prepare(absl::StrCat(kSelectNetworks, " WHERE id = ?")));
  query.Bind(1, network_id);
  GANTRY_ASSIGN_OR_RETURN(bool row, query.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("ipam: network ", network_id, " not found"));
  return NetworkFromRow(query);
}

absl::StatusOr<std::vector<NetworkAddressing>> LoadNetworks(sqlite::Connection& conn) {
  std::vector<NetworkAddressing> networks;
  GANTRY_ASSIGN_OR_RETURN(sqlite::Statement query, conn.Prepare(kSelectNetworks));
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return networks;
    GANTRY_ASSIGN_OR_RETURN(NetworkAddressing network, NetworkFromRow(query));
    networks.push_back(std::move(network));
  }
}

// Neither the subnet's own address nor its broadcast address is handed out.
bool IsHostAddress(const Ipv4Prefix& subnet, Ipv4Address address) {
  return subnet.Contains(address) && address != subnet.base() && address != subnet.last();
}

absl::Status InsertAllocation(sqlite::Connection& conn, const std::string& network_id,
                              Ipv4Address address, const std::string& owner) {
  GANTRY_ASSIGN_OR_RETURN(
      sqlite::Statement insert,
      conn.Prepare("INSERT INTO ipam_addresses (network_id, address, owner) VALUES (?, ?, ?)"));
  absl::Status status =
      insert.Bind(1, network_id).Bind(2, int64_t{address.value()}).Bind(3, owner).Run();
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(absl::StrCat("ipam: network ", network_id, ": address ",
                                                 address.ToString(), " is already in use"));
  }
  return status;
}

}  // namespace

std::vector<AddressPool> DefaultAddressPools() {
  std::vector<AddressPool> pools;
  for (uint32_t second = 17; second <= 31; ++second) {
    pools.push_back({Ipv4Prefix::Containing(Ipv4Address((172u << 24) | (second << 16)), 16), 16});
  }
  pools.push_back({Ipv4Prefix::Containing(Ipv4Address((192u << 24) | (168u << 16)), 16), 20});
  return pools;
}

absl::StatusOr<std::vector<AddressPool>> ParseAddressPools(const nlohmann::json& pools) {
  if (!pools.is_array()) {
    return absl::InvalidArgumentError("default-address-pools: expected an array");
  }
  std::vector<AddressPool> parsed;
  for (size_t i = 0; i < pools.size(); ++i) {
    const nlohmann::json& pool = pools[i];
    const std::string where = absl::StrCat("default-address-pools[", i, "]");
    if (!pool.is_object() || !pool.contains("base") || !pool["base"].is_string() ||
        !pool.contains("size") || !pool["size"].is_number_integer()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected {\"base\": \"a.b.c.d/n\", \"size\": n}"));
    }
    absl::StatusOr<Ipv4Prefix> base = Ipv4Prefix::Parse(pool["base"].get<std::string>());
    if (!base.ok()) return Annotate(base.status(), absl::StrCat(where, ": base"));
    const int64_t size = pool["size"].get<int64_t>();
    if (size < base->length() || size > 32) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": invalid pool size ", size, ": must be between ", base->length(), " and 32"));
    }
    parsed.push_back({*base, static_cast<int>(size)});
  }
  return parsed;
}

absl::StatusOr<Ipv4Prefix> ChooseSubnet(const std::vector<AddressPool>& pools,
                                        const std::vector<Ipv4Prefix>& networks,
                                        const std::vector<Ipv4Prefix>& routes) {
  std::vector<Ipv4Prefix> taken = networks;
  for (const Ipv4Prefix& route : routes) {
    if (route.length() > 0) taken.push_back(route);
  }
  for (const AddressPool& pool : pools) {
    const uint64_t step = uint64_t{1} << (32 - pool.size);
    const uint64_t end = uint64_t{pool.base.base().value()} + pool.base.size();
    for (uint64_t base = pool.base.base().value(); base < end; base += step) {
      Ipv4Prefix candidate =
          Ipv4Prefix::Containing(Ipv4Address(static_cast<uint32_t>(base)), pool.size);
      bool free = true;
      for (const Ipv4Prefix& used : taken) {
        if (candidate.Overlaps(used)) {
          free = false;
          break;
        }
      }
      if (free) return candidate;
    }
  }
  return absl::ResourceExhaustedError(
      "could not find an available, non-overlapping IPv4 address pool among the defaults to "
      "assign to the network");
}

absl::StatusOr<std::unique_ptr<Ipam>> Ipam::Open(const std::string& path) {
  GANTRY_ASSIGN_OR_RETURN(auto db, sqlite::Database::Open(path, Schema()));
  return std::unique_ptr<Ipam>(new Ipam(std::move(db)));
}

absl::StatusOr<NetworkAddressing> Ipam::AddNetwork(const std::string& network_id, Ipv4Prefix subnet,
                                                   std::optional<Ipv4Address> gateway,
                                                   std::optional<Ipv4Prefix> ip_range) {
  const std::string what = absl::StrCat("ipam: network ", network_id);
  if (subnet.length() > 30) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": subnet ", subnet.ToString(), " is too small: at most /30"));
  }
  NetworkAddressing network{network_id, subnet,
                            gateway.value_or(Ipv4Address(subnet.base().value() + 1)),
                            ip_range.value_or(subnet)};
  if (!IsHostAddress(subnet, network.gateway)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": gateway ", network.gateway.ToString(),
                                                   " is not a host address of subnet ",
                                                   subnet.ToString()));
  }
  if (!subnet.Contains(network.ip_range)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ip-range ", network.ip_range.ToString(),
                                                   " is not within subnet ", subnet.ToString()));
  }
  GANTRY_RETURN_IF_ERROR(db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(std::vector<NetworkAddressing> existing, LoadNetworks(conn));
    for (const NetworkAddressing& other : existing) {
      if (other.network_id == network_id) {
        return absl::AlreadyExistsError(absl::StrCat(what, " already exists"));
      }
      if (other.subnet.Overlaps(subnet)) {
        return absl::FailedPreconditionError(
            absl::StrCat(what, ": subnet ", subnet.ToString(), " overlaps subnet ",
                         other.subnet.ToString(), " of network ", other.network_id));
      }
    }
    GANTRY_ASSIGN_OR_RETURN(
        sqlite::Statement insert,
        conn.Prepare(
            "INSERT INTO ipam_networks (id, subnet, gateway, ip_range) VALUES (?, ?, ?, ?)"));
    return insert.Bind(1, network_id)
        .Bind(2, subnet.ToString())
        .Bind(3, network.gateway.ToString())
        .Bind(4, network.ip_range.ToString())
        .Run();
  }));
  return network;
}

absl::Status Ipam::RemoveNetwork(const std::string& network_id) {
  return db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(sqlite::Statement remove,
                            conn.Prepare("DELETE FROM ipam_networks WHERE id = ?"));
    return remove.Bind(1, network_id).Run();
  });
}

absl::StatusOr<std::vector<NetworkAddressing>> Ipam::Networks() {
  std::vector<NetworkAddressing> networks;
  GANTRY_RETURN_IF_ERROR(db_->Read([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(networks, LoadNetworks(conn));
    return absl::OkStatus();
  }));
  return networks;
}

absl::StatusOr<std::vector<Ipv4Prefix>> Ipam::Subnets() {
  GANTRY_ASSIGN_OR_RETURN(std::vector<NetworkAddressing> networks, Networks());
  std::vector<Ipv4Prefix> subnets;
  for (const NetworkAddressing& network : networks) subnets.push_back(network.subnet);
  return subnets;
}

absl::StatusOr<Ipv4Address> Ipam::Allocate(const std::string& network_id, const std::string& owner,
                                           std::optional<Ipv4Address> requested) {
  Ipv4Address allocated;
  GANTRY_RETURN_IF_ERROR(db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(NetworkAddressing network, LoadNetwork(conn, network_id));
    const std::string what = absl::StrCat("ipam: network ", network_id);
    if (requested) {
      if (!IsHostAddress(network.subnet, *requested)) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": address ", requested->ToString(),
                                                       " is not a host address of subnet ",
                                                       network.subnet.ToString()));
      }
      if (*requested == network.gateway) {
        return absl::AlreadyExistsError(
            absl::StrCat(what, ": address ", requested->ToString(), " is the network's gateway"));
      }
      allocated = *requested;
      return InsertAllocation(conn, network_id, allocated, owner);
    }
    GANTRY_ASSIGN_OR_RETURN(
        sqlite::Statement query,
        conn.Prepare("SELECT address FROM ipam_addresses WHERE network_id = ? AND address "
                     "BETWEEN ? AND ?"));
    query.Bind(1, network_id)
        .Bind(2, int64_t{network.ip_range.base().value()})
        .Bind(3, int64_t{network.ip_range.last().value()});
    std::set<uint32_t> used = {network.gateway.value()};
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) break;
      used.insert(static_cast<uint32_t>(query.ColumnInt(0)));
    }
    for (uint64_t value = network.ip_range.base().value(); value <= network.ip_range.last().value();
         ++value) {
      Ipv4Address candidate(static_cast<uint32_t>(value));
      if (used.count(candidate.value()) == 0 && IsHostAddress(network.subnet, candidate)) {
        allocated = candidate;
        return InsertAllocation(conn, network_id, allocated, owner);
      }
    }
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": no available IPv4 address in ", network.ip_range.ToString()));
  }));
  return allocated;
}

absl::Status Ipam::Release(const std::string& network_id, Ipv4Address address,
                           const std::string& owner) {
  return db_->Write([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        sqlite::Statement remove,
        conn.Prepare("DELETE FROM ipam_addresses WHERE network_id = ? AND address = ? "
                     "AND (? = '' OR owner = ?)"));
    return remove.Bind(1, network_id)
        .Bind(2, int64_t{address.value()})
        .Bind(3, owner)
        .Bind(4, owner)
        .Run();
  });
}

absl::StatusOr<std::vector<AddressAllocation>> Ipam::Allocations(const std::string& network_id) {
  std::vector<AddressAllocation> allocations;
  GANTRY_RETURN_IF_ERROR(db_->Read([&](sqlite::Connection& conn) -> absl::Status {
    GANTRY_RETURN_IF_ERROR(LoadNetwork(conn, network_id).status());
    GANTRY_ASSIGN_OR_RETURN(sqlite::Statement query,
                            conn.Prepare("SELECT address, owner FROM ipam_addresses WHERE "
                                         "network_id = ? ORDER BY address"));
    query.Bind(1, network_id);
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, query.Step());
      if (!row) return absl::OkStatus();
      allocations.push_back(
          {Ipv4Address(static_cast<uint32_t>(query.ColumnInt(0))), query.ColumnText(1)});
    }
  }));
  return allocations;
}

}  // namespace gantry::engined::network
