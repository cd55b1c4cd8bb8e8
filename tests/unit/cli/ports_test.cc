// run's -p/--expose/-v/--mount/--network-alias as the docker CLI sends them,
// network create's IPAM, and ports as docker's ps and port print them.
#include <catch2/catch.hpp>

#include "cli/commands/container_config.h"
#include "cli/commands/network_config.h"
#include "cli/commands/port_specs.h"
#include "cli/format/ports.h"

namespace {

using namespace gantry::cli;
using nlohmann::json;

std::vector<PortMapping> Mappings(const std::string& spec) {
  absl::StatusOr<std::vector<PortMapping>> mappings = ParsePortSpec(spec);
  INFO(mappings.status().ToString());
  REQUIRE(mappings.ok());
  return *mappings;
}

std::string Error(const std::string& spec) {
  return std::string(ParsePortSpec(spec).status().message());
}

json Port(const std::string& ip, int priv, int pub, const std::string& type = "tcp") {
  json port = {{"PrivatePort", priv}, {"Type", type}};
  if (!ip.empty()) {
    port["IP"] = ip;
    port["PublicPort"] = pub;
  }
  return port;
}

}  // namespace

TEST_CASE("-p specs become one mapping per container port", "[cli][ports]") {
  CHECK(Mappings("80") == std::vector<PortMapping>{{"80/tcp", "", ""}});
  CHECK(Mappings("8080:80") == std::vector<PortMapping>{{"80/tcp", "", "8080"}});
  CHECK(Mappings("127.0.0.1:8080:80/udp") ==
        std::vector<PortMapping>{{"80/udp", "127.0.0.1", "8080"}});
  CHECK(Mappings("127.0.0.1::80") == std::vector<PortMapping>{{"80/tcp", "127.0.0.1", ""}});
  CHECK(Mappings("[::1]:8080:80") == std::vector<PortMapping>{{"80/tcp", "::1", "8080"}});
  CHECK(Mappings("9000-9001:9000-9001/UDP") ==
        std::vector<PortMapping>{{"9000/udp", "", "9000"}, {"9001/udp", "", "9001"}});
  // A host range for one container port: any port of that range.
  CHECK(Mappings("8000-8010:80") == std::vector<PortMapping>{{"80/tcp", "", "8000-8010"}});
  CHECK(Mappings("target=80,published=8080,protocol=udp") ==
        std::vector<PortMapping>{{"80/udp", "", "8080"}});

  CHECK(Error("8000-8001:80-82") ==
        "invalid ranges specified for container and host Ports: 80-82 and 8000-8001");
  CHECK(Error("1.2.3:80:80") == "invalid IP address: 1.2.3");
  CHECK(Error("8080:http") == "invalid containerPort: http");
  CHECK(Error("x:80") == "invalid hostPort: x");
  CHECK(Error("80/icmp") == "invalid proto: icmp");
  CHECK(Error("8080:") == "no port specified: 8080:<empty>");
  CHECK(Error("target=80,oops") ==
        "invalid publish opts format (should be name=value but got 'oops')");
}

TEST_CASE("-p and --expose fill ExposedPorts and PortBindings", "[cli][ports]") {
  absl::StatusOr<PublishedPorts> ports =
      ParsePublishedPorts({"127.0.0.1:8080:80", "8081:80", "53/udp"}, {"6000-6001", "7000/udp"});
  REQUIRE(ports.ok());
  CHECK(ports->exposed == json{{"80/tcp", json::object()},
                               {"53/udp", json::object()},
                               {"6000/tcp", json::object()},
                               {"6001/tcp", json::object()},
                               {"7000/udp", json::object()}});
  CHECK(ports->bindings == json{{"80/tcp",
                                 {{{"HostIp", "127.0.0.1"}, {"HostPort", "8080"}},
                                  {{"HostIp", ""}, {"HostPort", "8081"}}}},
                                {"53/udp", {{{"HostIp", ""}, {"HostPort", ""}}}}});
  CHECK(ParsePublishedPorts({}, {"80:80"}).status().message() ==
        "invalid port format for --expose: 80:80");
}

TEST_CASE("run's volume, network and port flags in the create body", "[cli][ports]") {
  ContainerFlags flags;
  flags.args = {"busybox"};
  flags.volumes = {"data:/data", "/anon", "/host:/h:ro"};
  flags.volumes_from = {"other:ro"};
  flags.publish = {"8080:80"};
  flags.publish_all = true;
  flags.network = "appnet";
  flags.network_aliases = {"www"};
  flags.ip = "10.1.0.5";
  absl::StatusOr<json> body = CreateContainerBody(flags);
  REQUIRE(body.ok());
  CHECK((*body)["Volumes"] == json{{"/anon", json::object()}});
  CHECK((*body)["HostConfig"]["Binds"] == json{"data:/data", "/host:/h:ro"});
  CHECK((*body)["HostConfig"]["VolumesFrom"] == json{"other:ro"});
  CHECK((*body)["HostConfig"]["PublishAllPorts"] == true);
  CHECK((*body)["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"] == "8080");
  CHECK((*body)["ExposedPorts"] == json{{"80/tcp", json::object()}});
  CHECK((*body)["HostConfig"]["NetworkMode"] == "appnet");
  CHECK(
      (*body)["NetworkingConfig"] ==
      json{{"EndpointsConfig",
            {{"appnet", {{"Aliases", {"www"}}, {"IPAMConfig", {{"IPv4Address", "10.1.0.5"}}}}}}}});
}

TEST_CASE("--mount type=volume takes docker's volume options", "[cli][ports]") {
  absl::StatusOr<json> mount = ParseMount(
      "type=volume,src=data,dst=/data,volume-nocopy,volume-opt=type=tmpfs,volume-opt=device=tmpfs,"
      "volume-label=a=b");
  REQUIRE(mount.ok());
  CHECK(*mount ==
        json{{"Type", "volume"},
             {"Source", "data"},
             {"Target", "/data"},
             {"VolumeOptions",
              {{"NoCopy", true},
               {"Labels", {{"a", "b"}}},
               {"DriverConfig", {{"Options", {{"type", "tmpfs"}, {"device", "tmpfs"}}}}}}}});
  CHECK(ParseMount("type=bind,src=/a,dst=/b,volume-nocopy").status().message() ==
        "invalid argument \"type=bind,src=/a,dst=/b,volume-nocopy\" for \"--mount\" flag: cannot "
        "mix 'volume-*' options with mount type 'bind'");
}

TEST_CASE("network create's subnets, ranges and gateways", "[cli][networks]") {
  absl::StatusOr<json> configs =
      IpamConfigs({"10.1.0.0/16", "10.2.0.0/24"}, {"10.2.0.128/25"}, {"10.1.0.1", "10.2.0.1"});
  REQUIRE(configs.ok());
  CHECK(*configs ==
        json{{{"Subnet", "10.1.0.0/16"}, {"Gateway", "10.1.0.1"}},
             {{"Subnet", "10.2.0.0/24"}, {"IPRange", "10.2.0.128/25"}, {"Gateway", "10.2.0.1"}}});
  CHECK(IpamConfigs({}, {}, {"10.1.1.1"}).status().message() ==
        "every ip-range or gateway must have a corresponding subnet");
  CHECK(IpamConfigs({"10.1.0.0/24"}, {}, {"10.9.0.1"}).status().message() ==
        "no matching subnet for gateway 10.9.0.1");
  CHECK(IpamConfigs({"10.1.0.0/16", "10.1.2.0/24"}, {}, {}).status().message() ==
        "multiple overlapping subnet configuration is not supported");
  CHECK(*IpamConfigs({}, {}, {}) == json::array());
}

TEST_CASE("ports as docker ps and docker port print them", "[cli][ports]") {
  const json ports = {Port("127.0.0.1", 80, 18080),
                      Port("0.0.0.0", 80, 18081),
                      Port("0.0.0.0", 9001, 9001, "udp"),
                      Port("0.0.0.0", 9000, 9000, "udp"),
                      Port("", 6001, 0),
                      Port("", 6000, 0),
                      Port("0.0.0.0", 7000, 41443),
                      Port("", 6003, 0)};
  CHECK(DisplayablePorts(ports) ==
        "6000-6001/tcp, 6003/tcp, 0.0.0.0:9000-9001->9000-9001/udp, 0.0.0.0:18081->80/tcp, "
        "127.0.0.1:18080->80/tcp, 0.0.0.0:41443->7000/tcp");
  CHECK(DisplayablePorts(json::array({Port("::", 80, 8080)})) == "[::]:8080->80/tcp");
  CHECK(DisplayablePorts(json::array()).empty());

  CHECK(NaturalLess("80/tcp -> 0.0.0.0:1", "7000/tcp -> 0.0.0.0:1"));
  CHECK(NaturalLess("web2", "web10"));
  CHECK(NaturalLess("a", "ab"));
  CHECK_FALSE(NaturalLess("web10", "web2"));
  CHECK_FALSE(NaturalLess("same", "same"));
  CHECK(JoinHostPort("::1", "80") == "[::1]:80");
  CHECK(JoinHostPort("127.0.0.1", "80") == "127.0.0.1:80");
}
