// Networks through engined with the real docker CLI, in the network
// namespace the test gives engined (its "host"): containers on a
// user-defined network reach each other by name and alias and nothing else
// does; --network none and host; a published port reachable from the host,
// listed by docker port and free again after removal; and an engined killed
// with SIGKILL that comes back with no address handed out twice and no
// stale rule, veth or proxy, its published ports working.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/e2e/engined_process.h"

namespace {

using engined_test::Curl;
using engined_test::Describe;
using engined_test::Engined;
using engined_test::Eventually;
using engined_test::GetFrom;
using engined_test::HttpdCommand;
using engined_test::MountsUnder;
using engined_test::Registry;
using ocirun_test::ProcessResult;
using ocirun_test::RunProcess;

using Cli = engined_test::DockerCli;

// What engined's namespace holds: veths, nftables rules.
std::string InNamespace(const Engined& engined, std::vector<std::string> argv) {
  ProcessResult r = RunProcess(engined.netns().Wrap(std::move(argv)));
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  return r.out;
}
int Veths(const Engined& engined) {
  const std::string links =
      InNamespace(engined, {"/usr/sbin/ip", "-o", "link", "show", "type", "veth"});
  return static_cast<int>(std::count(links.begin(), links.end(), '\n'));
}

}  // namespace

TEST_CASE("containers on networks reach whom they should", "[docker][networks]") {
  Registry registry;
  Engined engined;
  Cli docker(engined);
  const std::string image = registry.image();
  REQUIRE(docker({"pull", "-q", image}).exit_code == 0);

  docker.Ok({"network", "create", "--label", "team=a", "appnet"});
  docker.Ok({"network", "create", "--subnet", "10.213.7.0/24", "--internal", "isolated"});
  CHECK(docker.Ok({"network", "ls", "--filter", "type=custom", "--format",
                   "{{.Name}} {{.Driver}}"}) == "appnet bridge\nisolated bridge");
  CHECK(docker.Ok({"network", "inspect", "-f",
                   "{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Internal}}", "isolated"}) ==
        "10.213.7.0/24 true");

  std::vector<std::string> web = {
      "run", "-d", "--name", "web", "--network", "appnet", "--network-alias", "www", image};
  const std::vector<std::string> httpd = HttpdCommand("hello-web");
  web.insert(web.end(), httpd.begin(), httpd.end());
  docker.Ok(web);
  const std::string web_ip =
      docker.Ok({"inspect", "-f", "{{.NetworkSettings.Networks.appnet.IPAddress}}", "web"});
  CHECK(absl::StartsWith(web_ip, "172."));

  SECTION("by name and alias on the same network, through the embedded DNS server") {
    REQUIRE(engined_test::Eventually([&] {
      return docker({"run", "--rm", "--network", "appnet", image, "sh", "-c", GetFrom("web")})
                 .out == "hello-web\n";
    }));
    CHECK(docker.Ok({"run", "--rm", "--network", "appnet", image, "sh", "-c", GetFrom("www")}) ==
          "hello-web");
    // busybox wget, by name and by alias.
    CHECK(docker.Ok({"run", "--rm", "--network", "appnet", image, "wget", "-q", "-O-",
                     "http://web/"}) == "hello-web");
    CHECK(docker.Ok({"run", "--rm", "--network", "appnet", image, "wget", "-q", "-O-",
                     "http://www/"}) == "hello-web");
    CHECK(docker.Ok({"run", "--rm", "--network", "appnet", image, "sh", "-c",
                     "grep nameserver /etc/resolv.conf"}) == "nameserver 127.0.0.11");
    // Its own name and address are in its /etc/hosts.
    CHECK(absl::StrContains(docker.Ok({"exec", "web", "cat", "/etc/hosts"}), web_ip + "\t"));
    // Another network reaches neither the name nor the address.
    CHECK(docker.Ok({"run", "--rm", "--network", "isolated", image, "sh", "-c", GetFrom(web_ip)})
              .empty());
    CHECK(docker.Ok({"run", "--rm", image, "sh", "-c", GetFrom(web_ip)}).empty());
    // Connected to appnet too, a container of the default bridge gets there,
    // and appnet's DNS knows it by its alias.
    docker.Ok({"run", "-d", "--name", "client", image, "sleep", "60"});
    docker.Ok({"network", "connect", "--alias", "cli", "appnet", "client"});
    CHECK(docker.Ok({"exec", "client", "sh", "-c", GetFrom(web_ip)}) == "hello-web");
    CHECK(docker({"exec", "web", "ping", "-c", "1", "-W", "2", "cli"}).exit_code == 0);
    CHECK(docker.Ok({"exec", "client", "sh", "-c", "ip -o -4 addr | wc -l"}) == "3");
    docker.Ok({"network", "disconnect", "appnet", "client"});
    CHECK(docker.Ok({"exec", "client", "sh", "-c", "ip -o -4 addr | wc -l"}) == "2");
    docker.Ok({"rm", "-f", "client"});
  }

  SECTION("none has only loopback; host is engined's own network") {
    CHECK(docker.Ok({"run", "--rm", "--network", "none", image, "sh", "-c", "ls /sys/class/net"}) ==
          "lo");
    const std::string host_links =
        docker.Ok({"run", "--rm", "--network", "host", image, "ls", "/sys/class/net"});
    CHECK(absl::StrContains(host_links, "gantry0"));
    CHECK(absl::StrContains(host_links, "lo"));
    // The internal network has no way out, not even to its gateway's other side.
    CHECK(docker.Ok({"run", "--rm", "--network", "isolated", image, "sh", "-c",
                     "ip route | grep -c default || true"}) == "0");
    // container:<name> shares web's namespace: its httpd is on localhost.
    CHECK(docker.Ok({"run", "--rm", "--network", "container:web", image, "sh", "-c",
                     GetFrom("127.0.0.1")}) == "hello-web");
  }

  SECTION("subnet, ip-range, gateway and MTU as given") {
    docker.Ok({"network", "create", "--subnet", "10.213.9.0/24", "--ip-range", "10.213.9.128/25",
               "--gateway", "10.213.9.254", "-o", "com.docker.network.driver.mtu=1400", "ranged"});
    CHECK(docker.Ok({"run", "--rm", "--network", "ranged", image, "sh", "-c",
                     "ip -o -4 addr show eth0 | awk '{print $4}'; ip route | grep default | "
                     "awk '{print $3}'; cat /sys/class/net/eth0/mtu"}) ==
          "10.213.9.128/24\n10.213.9.254\n1400");
    docker.Ok({"network", "rm", "ranged"});
  }

  SECTION("a published port is reachable from the host, and free after removal") {
    std::vector<std::string> pub = {"run", "-d",       "--name", "pub", "-p", "127.0.0.1:18080:80",
                                    "-p",  "18081:80", image};
    const std::vector<std::string> served = HttpdCommand("published");
    pub.insert(pub.end(), served.begin(), served.end());
    docker.Ok(pub);
    REQUIRE(Eventually([&] { return Curl(engined, "http://127.0.0.1:18080/") == "published\n"; }));
    CHECK(Curl(engined, "http://127.0.0.1:18081/") == "published\n");
    CHECK(docker.Ok({"port", "pub"}) == "80/tcp -> 0.0.0.0:18081\n80/tcp -> 127.0.0.1:18080");
    CHECK(docker.Ok({"ps", "--filter", "name=pub", "--format", "{{.Ports}}"}) ==
          "0.0.0.0:18081->80/tcp, 127.0.0.1:18080->80/tcp");
    CHECK(
        absl::StrContains(InNamespace(engined, {"/usr/sbin/nft", "list", "table", "ip", "gantry"}),
                          "dport 18081 dnat to"));
    // Taken: a second container cannot have it, and leaves nothing behind.
    const int veths = Veths(engined);
    ProcessResult taken =
        docker({"run", "-d", "--name", "taken", "-p", "18081:80", image, "sleep", "5"});
    CHECK(taken.exit_code != 0);
    CHECK(absl::StrContains(taken.err, "port is already allocated"));
    CHECK(Veths(engined) == veths);
    docker.Ok({"rm", "-f", "taken"});
    docker.Ok({"rm", "-f", "pub"});
    CHECK(absl::StartsWith(Curl(engined, "http://127.0.0.1:18080/"), "curl failed"));
    CHECK(!absl::StrContains(
        InNamespace(engined, {"/usr/sbin/nft", "list", "table", "ip", "gantry"}), "dnat to"));
    // The port can be bound again.
    docker.Ok({"run", "-d", "--name", "again", "-p", "18081:80", image, "sleep", "60"});
    docker.Ok({"rm", "-f", "again"});
  }

  SECTION("macvlan: containers on one parent reach each other") {
    // The parent: one end of a veth pair (this kernel has no dummy links).
    InNamespace(engined, {"/usr/sbin/ip", "link", "add", "gparent0", "type", "veth", "peer", "name",
                          "gparent1"});
    InNamespace(engined, {"/usr/sbin/ip", "link", "set", "gparent0", "up"});
    InNamespace(engined, {"/usr/sbin/ip", "link", "set", "gparent1", "up"});
    ProcessResult no_parent = docker({"network", "create", "-d", "macvlan", "bad"});
    CHECK(absl::StrContains(no_parent.err, "parent"));
    docker.Ok({"network", "create", "-d", "macvlan", "--subnet", "10.213.8.0/24", "-o",
               "parent=gparent0", "mvnet"});
    docker.Ok({"run", "-d", "--name", "mv1", "--network", "mvnet", "--ip", "10.213.8.10", image,
               "sleep", "60"});
    CHECK(docker.Ok({"exec", "mv1", "sh", "-c", "ip -o -4 addr show eth0 | awk '{print $4}'"}) ==
          "10.213.8.10/24");
    CHECK(
        docker.Ok({"run", "--rm", "--network", "mvnet", image, "ping", "-c", "1", "-W", "2", "mv1"})
            .find("1 packets received") != std::string::npos);
    docker.Ok({"rm", "-f", "mv1"});
    docker.Ok({"network", "rm", "mvnet"});
    InNamespace(engined, {"/usr/sbin/ip", "link", "del", "gparent0"});
  }

  SECTION("in use networks stay; removed ones leave no bridge") {
    ProcessResult busy = docker({"network", "rm", "appnet"});
    CHECK(busy.exit_code != 0);
    CHECK(absl::StrContains(busy.err, "has active endpoints"));
    CHECK(absl::StrContains(docker({"network", "rm", "bridge"}).err, "pre-defined network"));
    const std::string bridge =
        "br-" + docker.Ok({"network", "inspect", "-f", "{{.Id}}", "isolated"}).substr(0, 12);
    docker.Ok({"network", "rm", "isolated"});
    CHECK(!absl::StrContains(InNamespace(engined, {"/usr/sbin/ip", "-o", "link"}), bridge));
    CHECK(absl::StrContains(docker.Ok({"network", "ls"}), "appnet"));
  }

  docker.Ok({"rm", "-f", "web"});
  CHECK(Veths(engined) == 0);
  CHECK(MountsUnder(engined.dir()) == 0);
}

TEST_CASE("after SIGKILL engined puts networks back as they were", "[docker][networks][restart]") {
  Registry registry;
  auto first = std::make_unique<Engined>();
  const auto dir = first->shared_dir();
  const std::string image = registry.image();
  {
    Cli docker(*first);
    REQUIRE(docker({"pull", "-q", image}).exit_code == 0);
    docker.Ok({"network", "create", "appnet"});
    std::vector<std::string> pub = {
        "run", "-d", "--name", "pub", "--network", "appnet", "-p", "127.0.0.1:18090:80", image};
    const std::vector<std::string> served = HttpdCommand("survives");
    pub.insert(pub.end(), served.begin(), served.end());
    docker.Ok(pub);
    docker.Ok({"run", "-d", "--name", "gone", "--network", "appnet", image, "sleep", "600"});
    REQUIRE(Eventually([&] { return Curl(*first, "http://127.0.0.1:18090/") == "survives\n"; }));
  }
  first->Kill();
  // While engined is down a container dies: its sandbox must go at restart.
  const std::string gone_pid = RunProcess({"/usr/bin/pgrep", "-f", "^sleep 600"}).out;
  REQUIRE(!gone_pid.empty());
  RunProcess({"/usr/bin/kill", "-9", std::string(absl::StripTrailingAsciiWhitespace(gone_pid))});

  Engined second(dir);
  Cli docker(second);
  REQUIRE(Eventually([&] { return Curl(second, "http://127.0.0.1:18090/") == "survives\n"; }));
  REQUIRE(Eventually([&] { return docker.Ok({"ps", "-q", "--filter", "name=gone"}).empty(); }));
  // One veth (pub's) and one DNAT rule; the dead container's are gone.
  CHECK(Veths(second) == 1);
  const std::string rules = InNamespace(second, {"/usr/sbin/nft", "list", "table", "ip", "gantry"});
  CHECK(absl::StrContains(rules, "dport 18090 dnat to"));
  CHECK(rules.find("dport 18090") == rules.rfind("dport 18090"));
  // Names still resolve, and a new container gets a new address.
  const std::string pub_ip =
      docker.Ok({"inspect", "-f", "{{.NetworkSettings.Networks.appnet.IPAddress}}", "pub"});
  CHECK(docker.Ok({"run", "--rm", "--network", "appnet", image, "sh", "-c", GetFrom("pub")}) ==
        "survives");
  const std::string new_ip =
      docker.Ok({"run", "--rm", "--network", "appnet", image, "sh", "-c",
                 "ip -o -4 addr show eth0 | awk '{print $4}' | cut -d/ -f1"});
  CHECK(new_ip != pub_ip);
  docker.Ok({"rm", "-f", "pub", "gone"});
  CHECK(Veths(second) == 0);
}
