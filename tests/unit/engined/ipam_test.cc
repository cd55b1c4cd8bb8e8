// IPv4 prefixes, address pools and the IPAM store: which subnet a new network
// gets and which addresses its endpoints get, kept across a restart.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "engined/network/ipam.h"
#include "engined/network/ipv4.h"
#include "tests/temp_dir.h"

namespace {

using gantry::engined::network::AddressPool;
using gantry::engined::network::ChooseSubnet;
using gantry::engined::network::DefaultAddressPools;
using gantry::engined::network::Ipam;
using gantry::engined::network::Ipv4Address;
using gantry::engined::network::Ipv4InterfaceAddress;
using gantry::engined::network::Ipv4Prefix;
using gantry::engined::network::ParseAddressPools;

Ipv4Prefix P(const std::string& text) {
  auto prefix = Ipv4Prefix::Parse(text);
  REQUIRE(prefix.ok());
  return *prefix;
}

Ipv4Address A(const std::string& text) {
  auto address = Ipv4Address::Parse(text);
  REQUIRE(address.ok());
  return *address;
}

}  // namespace

TEST_CASE("IPv4 addresses and prefixes parse, format and compare", "[ipam]") {
  CHECK(A("172.17.0.2").ToString() == "172.17.0.2");
  CHECK(A("10.0.0.1").value() == 0x0a000001);
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "a.b.c.d", "1..2.3"}) {
    INFO(bad);
    CHECK_FALSE(Ipv4Address::Parse(bad).ok());
  }

  Ipv4Prefix subnet = P("172.20.0.0/16");
  CHECK(subnet.ToString() == "172.20.0.0/16");
  CHECK(subnet.last().ToString() == "172.20.255.255");
  CHECK(subnet.size() == 65536);
  CHECK(P("0.0.0.0/0").Contains(A("8.8.8.8")));
  CHECK(P("10.1.2.3/32").Contains(A("10.1.2.3")));

  auto host_bits = Ipv4Prefix::Parse("172.20.0.1/16");
  REQUIRE_FALSE(host_bits.ok());
  CHECK(std::string(host_bits.status().message()) ==
        "invalid subnet \"172.20.0.1/16\": it must be 172.20.0.0/16");
  CHECK_FALSE(Ipv4Prefix::Parse("10.0.0.0/33").ok());
  CHECK_FALSE(Ipv4Prefix::Parse("10.0.0.0").ok());
  CHECK_FALSE(Ipv4Prefix::Parse("10.0.0.0/x").ok());

  CHECK(subnet.Contains(A("172.20.3.4")));
  CHECK_FALSE(subnet.Contains(A("172.21.0.0")));
  CHECK(subnet.Contains(P("172.20.8.0/24")));
  CHECK_FALSE(P("172.20.8.0/24").Contains(subnet));
  CHECK(subnet.Overlaps(P("172.20.8.0/24")));
  CHECK(P("172.20.8.0/24").Overlaps(subnet));
  CHECK_FALSE(subnet.Overlaps(P("172.21.0.0/16")));

  auto on_link = Ipv4InterfaceAddress::Parse("10.213.1.1/24");
  REQUIRE(on_link.ok());
  CHECK(on_link->subnet() == P("10.213.1.0/24"));
  CHECK(on_link->ToString() == "10.213.1.1/24");
}

TEST_CASE("Docker's default address pools, or daemon.json's", "[ipam]") {
  std::vector<AddressPool> pools = DefaultAddressPools();
  REQUIRE(pools.size() == 16);
  CHECK(pools.front().base == P("172.17.0.0/16"));
  CHECK(pools.front().size == 16);
  CHECK(pools[14].base == P("172.31.0.0/16"));
  CHECK(pools.back().base == P("192.168.0.0/16"));
  CHECK(pools.back().size == 20);

  auto parsed = ParseAddressPools(nlohmann::json::parse(
      R"([{"base": "10.10.0.0/16", "size": 24}, {"base": "10.20.0.0/16", "size": 16}])"));
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 2);
  CHECK((*parsed)[0].base == P("10.10.0.0/16"));
  CHECK((*parsed)[0].size == 24);

  auto too_large =
      ParseAddressPools(nlohmann::json::parse(R"([{"base": "10.10.0.0/16", "size": 8}])"));
  REQUIRE_FALSE(too_large.ok());
  CHECK(std::string(too_large.status().message()) ==
        "default-address-pools[0]: invalid pool size 8: must be between 16 and 32");
  CHECK_FALSE(ParseAddressPools(nlohmann::json::parse(R"([{"base": "10.10.0.0/16"}])")).ok());
  CHECK_FALSE(ParseAddressPools(nlohmann::json::parse(R"({"base": "10.10.0.0/16"})")).ok());
}

TEST_CASE("a new network's subnet skips existing networks and the host's routes", "[ipam]") {
  const std::vector<AddressPool> pools = DefaultAddressPools();
  // A default route (/0) overlaps everything and is ignored, as Docker does.
  CHECK(*ChooseSubnet(pools, {}, {P("0.0.0.0/0")}) == P("172.17.0.0/16"));
  CHECK(*ChooseSubnet(pools, {P("172.17.0.0/16")}, {}) == P("172.18.0.0/16"));
  // A host route inside 172.18.0.0/16 takes that whole candidate.
  CHECK(*ChooseSubnet(pools, {P("172.17.0.0/16")}, {P("172.18.5.0/24")}) == P("172.19.0.0/16"));
  // A route covering all of 172.16.0.0/12 moves on to 192.168.0.0/20, then /20 by /20.
  CHECK(*ChooseSubnet(pools, {}, {P("172.16.0.0/12")}) == P("192.168.0.0/20"));
  CHECK(*ChooseSubnet(pools, {P("192.168.0.0/20")}, {P("172.16.0.0/12"), P("192.168.17.0/24")}) ==
        P("192.168.32.0/20"));

  auto exhausted = ChooseSubnet({{P("10.0.0.0/23"), 24}}, {P("10.0.0.0/24")}, {P("10.0.1.0/24")});
  CHECK(absl::IsResourceExhausted(exhausted.status()));
}

TEST_CASE("IPAM hands out each address once, and remembers across a reopen", "[ipam]") {
  gantry::testing::TempDir dir("ipam-test");
  const std::string db = dir.path() + "/ipam.db";
  {
    auto ipam = Ipam::Open(db);
    REQUIRE(ipam.ok());
    auto net = (*ipam)->AddNetwork("n1", P("10.213.1.0/29"), std::nullopt, std::nullopt);
    REQUIRE(net.ok());
    CHECK(net->gateway == A("10.213.1.1"));
    CHECK(net->ip_range == P("10.213.1.0/29"));

    CHECK(*(*ipam)->Allocate("n1", "c1") == A("10.213.1.2"));
    CHECK(*(*ipam)->Allocate("n1", "c2") == A("10.213.1.3"));
    // A static request; then the gateway, a taken address and an outside one are refused.
    CHECK(*(*ipam)->Allocate("n1", "c3", A("10.213.1.5")) == A("10.213.1.5"));
    CHECK(absl::IsAlreadyExists((*ipam)->Allocate("n1", "c4", A("10.213.1.1")).status()));
    CHECK(absl::IsAlreadyExists((*ipam)->Allocate("n1", "c4", A("10.213.1.5")).status()));
    CHECK(absl::IsInvalidArgument((*ipam)->Allocate("n1", "c4", A("10.213.1.7")).status()));
    CHECK(absl::IsInvalidArgument((*ipam)->Allocate("n1", "c4", A("10.213.2.2")).status()));
    CHECK(absl::IsNotFound((*ipam)->Allocate("nope", "c4").status()));

    // Overlapping or duplicate networks are refused.
    CHECK(absl::IsFailedPrecondition(
        (*ipam)->AddNetwork("n2", P("10.213.0.0/16"), std::nullopt, std::nullopt).status()));
    CHECK(absl::IsAlreadyExists(
        (*ipam)->AddNetwork("n1", P("10.214.0.0/24"), std::nullopt, std::nullopt).status()));
    CHECK(absl::IsInvalidArgument(
        (*ipam)->AddNetwork("n3", P("10.215.0.0/24"), A("10.216.0.1"), std::nullopt).status()));
    CHECK(absl::IsInvalidArgument(
        (*ipam)->AddNetwork("n3", P("10.215.0.0/24"), std::nullopt, P("10.215.1.0/25")).status()));
  }
  {
    // Reopened, as after engined restarts: nothing is handed out again.
    auto ipam = Ipam::Open(db);
    REQUIRE(ipam.ok());
    CHECK(*(*ipam)->Subnets() == std::vector<Ipv4Prefix>{P("10.213.1.0/29")});
    auto allocations = (*ipam)->Allocations("n1");
    REQUIRE(allocations.ok());
    REQUIRE(allocations->size() == 3);
    CHECK((*allocations)[0].owner == "c1");
    CHECK(*(*ipam)->Allocate("n1", "c4") == A("10.213.1.4"));
    CHECK(*(*ipam)->Allocate("n1", "c5") == A("10.213.1.6"));
    // .0 is the network, .1 the gateway, .7 the broadcast: full.
    CHECK(absl::IsResourceExhausted((*ipam)->Allocate("n1", "c6").status()));

    // Another owner's release leaves it allocated.
    REQUIRE((*ipam)->Release("n1", A("10.213.1.3"), "someone-else").ok());
    CHECK(absl::IsResourceExhausted((*ipam)->Allocate("n1", "c6").status()));
    REQUIRE((*ipam)->Release("n1", A("10.213.1.3")).ok());
    REQUIRE((*ipam)->Release("n1", A("10.213.1.3")).ok());
    CHECK(*(*ipam)->Allocate("n1", "c6") == A("10.213.1.3"));

    REQUIRE((*ipam)->RemoveNetwork("n1").ok());
    REQUIRE((*ipam)->RemoveNetwork("n1").ok());
    CHECK((*ipam)->Networks()->empty());
    CHECK(absl::IsNotFound((*ipam)->Allocations("n1").status()));
  }
}

TEST_CASE("IPAM takes addresses from the ip-range and a given gateway", "[ipam]") {
  gantry::testing::TempDir dir("ipam-test");
  auto ipam = Ipam::Open(dir.path() + "/ipam.db");
  REQUIRE(ipam.ok());
  auto net = (*ipam)->AddNetwork("n1", P("10.213.0.0/16"), A("10.213.0.254"), P("10.213.7.0/30"));
  REQUIRE(net.ok());
  // The range's first and last addresses are host addresses of the /16.
  CHECK(*(*ipam)->Allocate("n1", "a") == A("10.213.7.0"));
  CHECK(*(*ipam)->Allocate("n1", "b") == A("10.213.7.1"));
  CHECK(*(*ipam)->Allocate("n1", "c") == A("10.213.7.2"));
  CHECK(*(*ipam)->Allocate("n1", "d") == A("10.213.7.3"));
  CHECK(absl::IsResourceExhausted((*ipam)->Allocate("n1", "e").status()));
  // A static address outside the range but inside the subnet is fine, as in Docker.
  CHECK(*(*ipam)->Allocate("n1", "e", A("10.213.9.9")) == A("10.213.9.9"));
  CHECK(absl::IsAlreadyExists((*ipam)->Allocate("n1", "f", A("10.213.0.254")).status()));
}
