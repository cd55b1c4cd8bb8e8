// gantry's volume, network and port commands and run's -v, -p, --network
// flags against engined, in the network namespace the test gives engined:
// outputs compared with the docker CLI's where their shapes should match.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/e2e/engined_process.h"

namespace {

using engined_test::Cli;
using engined_test::Curl;
using engined_test::Describe;
using engined_test::DockerCli;
using engined_test::Engined;
using engined_test::Eventually;
using engined_test::GetFrom;
using engined_test::HttpdCommand;
using engined_test::kGantryCli;
using engined_test::MountsUnder;
using engined_test::Registry;
using ocirun_test::ProcessResult;

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A private engined with the test image pulled, and both CLIs on it.
struct Stack {
  Registry registry;
  Engined engined;
  Cli gantry{kGantryCli, engined};
  DockerCli docker{engined};
  const std::string image = registry.image();
  Stack() { gantry.Ok({"pull", "-q", image}); }
};

}  // namespace

TEST_CASE_METHOD(Stack, "gantry manages volumes as docker does", "[gantry][volumes]") {
  CHECK(gantry.Ok({"volume", "create", "--label", "team=a", "data"}) == "data");
  CHECK(gantry.Ok({"volume", "create", "--name", "other", "-d", "local", "-o", "type=tmpfs", "-o",
                   "device=tmpfs"}) == "other");
  const std::string anonymous = gantry.Ok({"volume", "create"});
  CHECK(anonymous.size() == 64);
  ProcessResult conflict = gantry({"volume", "create", "--name", "a", "b"});
  CHECK(conflict.exit_code == 1);
  CHECK(absl::StrContains(conflict.err, "conflicting options"));

  // The lists are docker's, byte for byte.
  CHECK(gantry.Ok({"volume", "ls"}) == docker.Ok({"volume", "ls"}));
  CHECK(absl::StartsWith(gantry.Ok({"volume", "ls"}), "DRIVER    VOLUME NAME\n"));
  CHECK(gantry.Ok({"volume", "ls", "-q"}) == docker.Ok({"volume", "ls", "-q"}));
  CHECK(gantry.Ok({"volume", "ls", "--format", "json"}) ==
        docker.Ok({"volume", "ls", "--format", "json"}));
  CHECK(gantry.Ok({"volume", "ls", "--filter", "label=team=a", "--format",
                   "{{.Name}} {{.Driver}} {{.Labels}}"}) == "data local team=a");
  CHECK(gantry.Ok({"volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Options.type}}", "data",
                   "other"}) == "data local <no value>\nother local tmpfs");
  CHECK(gantry.Ok({"volume", "inspect", "data"}) == docker.Ok({"volume", "inspect", "data"}));
  ProcessResult missing = gantry({"volume", "inspect", "nope"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.out == "[]\n");
  CHECK(missing.err == docker({"volume", "inspect", "nope"}).err);

  SECTION("a named volume keeps its data across containers; in use it stays") {
    gantry.Ok({"run", "--rm", "-v", "data:/data", image, "sh", "-c", "echo kept > /data/file"});
    CHECK(gantry.Ok({"run", "--rm", "-v", "data:/data", image, "cat", "/data/file"}) == "kept");
    CHECK(gantry.Ok({"run", "--rm", "--mount", "type=volume,src=data,dst=/m,readonly", image, "cat",
                     "/m/file"}) == "kept");
    // -v /path is an anonymous volume, gone with --rm.
    const std::string before = gantry.Ok({"volume", "ls", "-q"});
    CHECK(gantry.Ok({"run", "--rm", "-v", "/anon", image, "sh", "-c",
                     "grep -c ' /anon ' /proc/mounts"}) == "1");
    CHECK(gantry.Ok({"volume", "ls", "-q"}) == before);
    // --volumes-from sees the other container's volumes.
    gantry.Ok({"run", "-d", "--name", "holder", "-v", "data:/data", image, "sleep", "60"});
    CHECK(gantry.Ok({"run", "--rm", "--volumes-from", "holder", image, "cat", "/data/file"}) ==
          "kept");
    ProcessResult busy = gantry({"volume", "rm", "data"});
    CHECK(busy.exit_code == 1);
    CHECK(absl::StrContains(busy.err, "volume is in use"));
    gantry.Ok({"rm", "-f", "holder"});
    CHECK(gantry.Ok({"volume", "rm", "data"}) == "data");
  }

  SECTION("rm and prune") {
    ProcessResult rm = gantry({"volume", "rm", "nope", "other"});
    CHECK(rm.exit_code == 1);
    CHECK(rm.out == "other\n");
    CHECK(absl::StrContains(rm.err, "nope"));
    // Declined: nothing goes.
    ProcessResult declined = gantry({"volume", "prune"}, "n\n");
    CHECK(declined.out ==
          "WARNING! This will remove anonymous local volumes not used by at least one container.\n"
          "Are you sure you want to continue? [y/N] ");
    // Listed in natural order (docker's: digits first); pruned in engined's.
    CHECK(gantry.Ok({"volume", "ls", "-q"}) ==
          (anonymous < "data" ? anonymous + "\ndata" : "data\n" + anonymous));
    const std::string pruned = gantry.Ok({"volume", "prune", "-a", "-f"});
    CHECK(absl::StartsWith(pruned, "Deleted Volumes:\n"));
    CHECK(absl::StrContains(pruned, "\ndata\n"));
    CHECK(absl::StrContains(pruned, "\n" + anonymous + "\n"));
    CHECK(absl::EndsWith(pruned, "\n\nTotal reclaimed space: 0B"));
    CHECK(gantry.Ok({"volume", "ls", "-q"}).empty());
    CHECK(gantry.Ok({"volume", "prune", "-f"}) == "Total reclaimed space: 0B");
  }

  CHECK(MountsUnder(engined.dir()) == 0);
}

TEST_CASE_METHOD(Stack, "gantry manages networks and published ports as docker does",
                 "[gantry][networks]") {
  const std::string id =
      gantry.Ok({"network", "create", "--label", "team=a", "--subnet", "10.214.0.0/24", "--gateway",
                 "10.214.0.1", "--ip-range", "10.214.0.128/25", "appnet"});
  CHECK(id.size() == 64);
  gantry.Ok({"network", "create", "--internal", "isolated"});
  ProcessResult no_subnet = gantry({"network", "create", "--gateway", "10.1.1.1", "bad"});
  CHECK(no_subnet.exit_code == 1);
  CHECK(no_subnet.err == "every ip-range or gateway must have a corresponding subnet\n");

  for (const std::vector<std::string>& ls :
       std::vector<std::vector<std::string>>{{"network", "ls"},
                                             {"network", "ls", "--no-trunc"},
                                             {"network", "ls", "-q"},
                                             {"network", "ls", "--filter", "driver=bridge"},
                                             {"network", "ls", "--format", "json"}}) {
    CHECK(gantry.Ok(ls) == docker.Ok(ls));
  }
  CHECK(absl::StartsWith(gantry.Ok({"network", "ls"}),
                         "NETWORK ID     NAME       DRIVER    SCOPE\n"));
  CHECK(gantry.Ok({"network", "ls", "--filter", "label=team=a", "--format",
                   "{{.ID}} {{.Name}} {{.Internal}} {{.Labels}}"}) ==
        id.substr(0, 12) + " appnet false team=a");
  CHECK(gantry.Ok({"network", "inspect", "-f",
                   "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{.IPRange}}{{end}}",
                   "appnet"}) == "10.214.0.0/24 10.214.0.1 10.214.0.128/25");
  CHECK(gantry.Ok({"network", "inspect", "-f", "{{.Internal}}", "isolated"}) == "true");

  SECTION("containers on a user network reach each other by name and alias") {
    gantry.Ok(Concat({"run", "-d", "--name", "web", "--network", "appnet", "--network-alias", "www",
                      "--ip", "10.214.0.200", image},
                     HttpdCommand("hello-web")));
    CHECK(gantry.Ok({"inspect", "-f", "{{.NetworkSettings.Networks.appnet.IPAddress}}", "web"}) ==
          "10.214.0.200");
    REQUIRE(Eventually([&] {
      return gantry({"run", "--rm", "--network", "appnet", image, "sh", "-c", GetFrom("web")})
                 .out == "hello-web\n";
    }));
    CHECK(gantry.Ok({"run", "--rm", "--network", "appnet", image, "sh", "-c", GetFrom("www")}) ==
          "hello-web");
    // From the default bridge it is out of reach, until connected.
    gantry.Ok({"run", "-d", "--name", "client", image, "sleep", "60"});
    CHECK(gantry.Ok({"exec", "client", "sh", "-c", GetFrom("10.214.0.200")}).empty());
    CHECK(gantry
              .Ok({"network", "connect", "--alias", "cli", "--ip", "10.214.0.150", "appnet",
                   "client"})
              .empty());
    // (client's resolver is the default bridge's: web by its address.)
    CHECK(gantry.Ok({"exec", "client", "sh", "-c", GetFrom("10.214.0.200")}) == "hello-web");
    CHECK(gantry({"exec", "web", "ping", "-c", "1", "-W", "2", "cli"}).exit_code == 0);
    CHECK(gantry.Ok({"inspect", "-f", "{{.NetworkSettings.Networks.appnet.IPAddress}}",
                     "client"}) == "10.214.0.150");
    CHECK(gantry.Ok({"network", "disconnect", "appnet", "client"}).empty());
    CHECK(gantry.Ok({"exec", "client", "sh", "-c", "ip -o -4 addr | wc -l"}) == "2");
    ProcessResult again = gantry({"network", "disconnect", "appnet", "client"});
    CHECK(again.exit_code == 1);
    CHECK(absl::StrContains(again.err, "is not connected to network appnet"));
    // In use, the network stays.
    ProcessResult busy = gantry({"network", "rm", "appnet"});
    CHECK(busy.exit_code == 1);
    CHECK(absl::StrContains(busy.err, "has active endpoints"));
    gantry.Ok({"rm", "-f", "web", "client"});
  }

  SECTION("published ports: reachable, listed by port and ps as docker lists them") {
    gantry.Ok(Concat({"run", "-d", "--name", "pub", "-p", "127.0.0.1:18090:80", "-p", "18091:80",
                      "-p", "19000-19001:9000-9001/udp", "--expose", "6000-6001", image},
                     HttpdCommand("published")));
    REQUIRE(Eventually([&] { return Curl(engined, "http://127.0.0.1:18090/") == "published\n"; }));
    CHECK(Curl(engined, "http://127.0.0.1:18091/") == "published\n");
    CHECK(gantry.Ok({"port", "pub"}) ==
          "80/tcp -> 0.0.0.0:18091\n80/tcp -> 127.0.0.1:18090\n"
          "9000/udp -> 0.0.0.0:19000\n9001/udp -> 0.0.0.0:19001");
    CHECK(gantry.Ok({"port", "pub"}) == docker.Ok({"port", "pub"}));
    CHECK(gantry.Ok({"port", "pub", "80"}) == "0.0.0.0:18091\n127.0.0.1:18090");
    CHECK(gantry.Ok({"container", "port", "pub", "9001/udp"}) == "0.0.0.0:19001");
    ProcessResult unpublished = gantry({"port", "pub", "81"});
    CHECK(unpublished.exit_code == 1);
    CHECK(unpublished.err == "Error: No public port '81' published for pub\n");
    CHECK(gantry.Ok({"ps", "--format", "{{.Ports}}"}) ==
          "6000-6001/tcp, 0.0.0.0:18091->80/tcp, 127.0.0.1:18090->80/tcp, "
          "0.0.0.0:19000->9000/udp, 0.0.0.0:19001->9001/udp");
    CHECK(gantry.Ok({"ps"}) == docker.Ok({"ps"}));
    // -P: every exposed port on a port of engined's choosing.
    gantry.Ok(Concat({"run", "-d", "--name", "all", "-P", "--expose", "80", image},
                     HttpdCommand("all-ports")));
    const std::string all = gantry.Ok({"port", "all", "80/tcp"});
    CHECK(absl::StartsWith(all, "0.0.0.0:"));
    CHECK(Eventually([&] {
      return Curl(engined, "http://127.0.0.1:" + all.substr(all.find(':') + 1) + "/") ==
             "all-ports\n";
    }));
    ProcessResult bad = gantry({"run", "--rm", "-p", "8000-8001:80-82", image, "true"});
    CHECK(bad.exit_code == 125);
    CHECK(absl::StrContains(bad.err, "invalid ranges specified for container and host Ports"));
    gantry.Ok({"rm", "-f", "pub", "all"});
    CHECK(absl::StartsWith(Curl(engined, "http://127.0.0.1:18090/"), "curl failed"));
  }

  SECTION("rm and prune") {
    ProcessResult rm = gantry({"network", "rm", "isolated", "nope"});
    CHECK(rm.exit_code == 1);
    CHECK(rm.out == "isolated\n");
    CHECK(absl::StrContains(rm.err, "network nope not found"));
    CHECK(gantry({"network", "rm", "-f", "nope"}).out.empty());
    ProcessResult declined = gantry({"network", "prune"}, "n\n");
    CHECK(declined.out ==
          "WARNING! This will remove all custom networks not used by at least one container.\n"
          "Are you sure you want to continue? [y/N] ");
    CHECK(gantry.Ok({"network", "prune", "-f"}) == "Deleted Networks:\nappnet");
    CHECK(gantry.Ok({"network", "ls", "--format", "{{.Name}}"}) == "bridge\nhost\nnone");
    CHECK(gantry.Ok({"network", "prune", "-f"}).empty());
  }
}
