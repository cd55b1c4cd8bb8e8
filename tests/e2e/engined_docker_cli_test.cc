// engined driven by the real docker CLI (the 28.x client on the machine and
// Debian's 20.10 one), plus raw HTTP checks of what goes on the wire, socket
// permissions, shutdown, and mutual TLS with certificates made by openssl.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/e2e/engined_process.h"
#include "tests/integration/ocirun_test_util.h"
#include "tests/temp_dir.h"
#include "tests/unix_http.h"

namespace {

using engined_test::Describe;
using engined_test::Docker;
using engined_test::Engined;
using engined_test::kDebianDocker;
using engined_test::kDockerCli;
using engined_test::kEngined;
using ocirun_test::ProcessResult;
using ocirun_test::RunProcess;

}  // namespace

TEST_CASE("docker version shows the client and the Gantry server", "[docker]") {
  Engined engined;
  for (const char* cli : {kDockerCli, kDebianDocker}) {
    ProcessResult r = Docker(cli, "unix://" + engined.socket(), {"version"});
    INFO(cli << ": " << Describe(r));
    CHECK(r.exit_code == 0);
    CHECK(absl::StrContains(r.out, "Client:"));
    CHECK(absl::StrContains(r.out, "Server: Gantry Engine"));
    CHECK(absl::StrContains(r.out, "1.43 (minimum version 1.24)"));
  }
}

TEST_CASE("docker version --format reads the server's fields", "[docker]") {
  Engined engined;
  ProcessResult r = Docker(kDockerCli, "unix://" + engined.socket(),
                           {"version", "--format", "{{.Server.Os}}/{{.Server.APIVersion}}"});
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "linux/1.43\n");
}

TEST_CASE("docker info describes this machine", "[docker]") {
  Engined engined;
  struct stat st;
  const std::string cgroup_version =
      ::stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0 ? "2" : "1";
  for (const char* cli : {kDockerCli, kDebianDocker}) {
    ProcessResult r = Docker(cli, "unix://" + engined.socket(), {"info"});
    INFO(cli << ": " << Describe(r));
    CHECK(r.exit_code == 0);
    CHECK(absl::StrContains(r.out, "Server Version: 0.1.0"));
    CHECK(absl::StrContains(r.out, "Cgroup Version: " + cgroup_version));
    CHECK(absl::StrContains(r.out, "Cgroup Driver: cgroupfs"));
    CHECK(absl::StrContains(r.out, "Default Runtime: ocirun"));
    CHECK(absl::StrContains(r.out, "Docker Root Dir: " + engined.dir() + "/data"));
    char hostname[256] = {};
    ::gethostname(hostname, sizeof hostname - 1);
    CHECK(absl::StrContains(r.out, absl::StrCat("Name: ", hostname)));
  }
}

TEST_CASE("/_ping answers HEAD with the negotiation headers", "[http]") {
  Engined engined;
  auto head = gantry::testing::HttpOverUnix(engined.socket(), "HEAD", "/_ping");
  CHECK(head.status == 200);
  CHECK(head.headers["api-version"] == "1.43");
  CHECK(head.headers["ostype"] == "linux");
  CHECK(head.headers["docker-experimental"] == "false");
  CHECK(head.headers["cache-control"] == "no-cache, no-store, must-revalidate");
  CHECK(head.headers["pragma"] == "no-cache");
  CHECK(head.headers.count("builder-version") == 1);
  CHECK(head.body.empty());

  auto get = gantry::testing::HttpOverUnix(engined.socket(), "GET", "/_ping");
  CHECK(get.body == "OK");
}

TEST_CASE("/version over HTTP has Docker's shape", "[http]") {
  Engined engined;
  auto r = gantry::testing::HttpOverUnix(engined.socket(), "GET", "/v1.41/version");
  REQUIRE(r.status == 200);
  CHECK(r.headers["content-type"] == "application/json");
  nlohmann::json version = nlohmann::json::parse(r.body);
  CHECK(version["ApiVersion"] == "1.43");
  CHECK(version["MinAPIVersion"] == "1.24");
  CHECK(version["Os"] == "linux");
  CHECK(version["Components"][0]["Name"] == "Engine");
  CHECK(version["Components"][0]["Details"]["ApiVersion"] == "1.43");
}

TEST_CASE("too new a version and unknown paths answer as dockerd", "[http]") {
  Engined engined;
  auto too_new = gantry::testing::HttpOverUnix(engined.socket(), "GET", "/v9.99/version");
  CHECK(too_new.status == 400);
  CHECK(nlohmann::json::parse(too_new.body) ==
        nlohmann::json{
            {"message", "client version 9.99 is too new. Maximum supported API version is 1.43"}});

  auto unknown = gantry::testing::HttpOverUnix(engined.socket(), "GET", "/v1.43/no/such/thing");
  CHECK(unknown.status == 404);
  CHECK(nlohmann::json::parse(unknown.body) == nlohmann::json{{"message", "page not found"}});
}

TEST_CASE("the socket is 0660 for the group, and SIGTERM removes it", "[daemon]") {
  Engined engined;
  struct stat st;
  REQUIRE(::stat(engined.socket().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0660);
  CHECK(st.st_gid == 0);
  CHECK(::access((engined.dir() + "/exec/engined.pid").c_str(), F_OK) == 0);

  ProcessResult stopped = engined.Stop();
  INFO(Describe(stopped));
  CHECK(stopped.exit_code == 0);
  CHECK(::access(engined.socket().c_str(), F_OK) != 0);
  CHECK(::access((engined.dir() + "/exec/engined.pid").c_str(), F_OK) != 0);
}

TEST_CASE("daemon.json with an unknown key is refused by name", "[daemon]") {
  gantry::testing::TempDir dir("engined-config");
  REQUIRE(gantry::WriteFileAtomic(dir.path() + "/daemon.json", R"({"no-such-key": 1})").ok());
  ProcessResult r = RunProcess({kEngined, "--config-file", dir.path() + "/daemon.json", "-H",
                                "unix://" + dir.path() + "/s.sock", "--exec-root",
                                dir.path() + "/exec", "--data-root", dir.path() + "/data"});
  CHECK(r.exit_code == 1);
  CHECK(absl::StrContains(r.err, "no-such-key"));
}

TEST_CASE("a key set both by flag and in daemon.json is refused", "[daemon]") {
  gantry::testing::TempDir dir("engined-config");
  REQUIRE(gantry::WriteFileAtomic(dir.path() + "/daemon.json",
                                  R"({"data-root": ")" + dir.path() + R"(/other"})")
              .ok());
  ProcessResult r = RunProcess({kEngined, "--config-file", dir.path() + "/daemon.json", "-H",
                                "unix://" + dir.path() + "/s.sock", "--exec-root",
                                dir.path() + "/exec", "--data-root", dir.path() + "/data"});
  CHECK(r.exit_code == 1);
  CHECK(absl::StrContains(
      r.err,
      "the following directives are specified both as a flag and in the configuration file: "
      "data-root"));
}

TEST_CASE("SIGHUP reloads daemon.json's debug and log level", "[daemon]") {
  Engined engined;
  const std::string host = "unix://" + engined.socket();
  auto debug = [&] { return Docker(kDockerCli, host, {"info", "--format", "{{.Debug}}"}).out; };
  REQUIRE(debug() == "false\n");
  REQUIRE(gantry::WriteFileAtomic(engined.dir() + "/daemon.json", R"({"debug": true})").ok());
  ::kill(engined.pid(), SIGHUP);
  CHECK(engined_test::Eventually([&] { return debug() == "true\n"; }));
  // A broken file changes nothing, and engined runs on.
  REQUIRE(gantry::WriteFileAtomic(engined.dir() + "/daemon.json", R"({"debug": tru)").ok());
  ::kill(engined.pid(), SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(debug() == "true\n");
  REQUIRE(gantry::WriteFileAtomic(engined.dir() + "/daemon.json", "{}").ok());
  ::kill(engined.pid(), SIGHUP);
  CHECK(engined_test::Eventually([&] { return debug() == "false\n"; }));
  ProcessResult stopped = engined.Stop();
  CHECK(absl::StrContains(stopped.err, "reloaded"));
  CHECK(absl::StrContains(stopped.err, "reloading"));
}

TEST_CASE("plain TCP is refused off loopback", "[daemon]") {
  gantry::testing::TempDir dir("engined-tcp");
  REQUIRE(gantry::WriteFileAtomic(dir.path() + "/daemon.json", "{}").ok());
  // In a network namespace of its own: the refusal comes when the server
  // starts, after engined has set up its default bridge.
  ProcessResult r =
      RunProcess({"/usr/bin/unshare", "--net", "--", kEngined, "-H", "tcp://0.0.0.0:2375",
                  "--exec-root", dir.path() + "/exec", "--data-root", dir.path() + "/data",
                  "--config-file", dir.path() + "/daemon.json"});
  CHECK(r.exit_code == 1);
  CHECK(absl::StrContains(r.err, "--tlsverify"));
}

namespace {

// A port nobody listens on right now.
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

void OpenSsl(std::vector<std::string> args) {
  args.insert(args.begin(), "/usr/bin/openssl");
  ProcessResult r = RunProcess(args);
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
}

// A key and a certificate signed by `ca` (self-signed when ca is empty).
void MakeCert(const std::string& dir, const std::string& name, const std::string& ca,
              const std::string& extensions) {
  std::string base = dir + "/" + name;
  OpenSsl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", base + "-key.pem", "-out",
           base + ".csr", "-subj", "/CN=" + name});
  REQUIRE(gantry::WriteFileAtomic(base + ".ext", extensions).ok());
  if (ca.empty()) {
    OpenSsl({"x509", "-req", "-in", base + ".csr", "-signkey", base + "-key.pem", "-days", "2",
             "-out", base + ".pem", "-extfile", base + ".ext"});
  } else {
    OpenSsl({"x509", "-req", "-in", base + ".csr", "-CA", dir + "/" + ca + ".pem", "-CAkey",
             dir + "/" + ca + "-key.pem", "-CAcreateserial", "-days", "2", "-out", base + ".pem",
             "-extfile", base + ".ext"});
  }
}

}  // namespace

TEST_CASE("TCP with mutual TLS accepts a CA-signed client and refuses others", "[tls]") {
  gantry::testing::TempDir certs("engined-tls");
  const std::string d = certs.path();
  OpenSsl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca-key.pem", "-out",
           d + "/ca.pem", "-days", "2", "-subj", "/CN=gantry test CA"});
  MakeCert(d, "server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  MakeCert(d, "client", "ca", "extendedKeyUsage=clientAuth\n");
  MakeCert(d, "rogue", "", "extendedKeyUsage=clientAuth\n");

  const std::string host = absl::StrCat("tcp://127.0.0.1:", FreePort());
  Engined engined({"-H", host, "--tlsverify", "--tlscacert", d + "/ca.pem", "--tlscert",
                   d + "/server.pem", "--tlskey", d + "/server-key.pem"});
  auto docker_tls = [&](const std::string& client) {
    // engined listens in its network namespace: so do its TCP clients.
    return RunProcess(engined.netns().Wrap({kDockerCli, "-H", host, "--tlsverify", "--tlscacert",
                                            d + "/ca.pem", "--tlscert", d + "/" + client + ".pem",
                                            "--tlskey", d + "/" + client + "-key.pem", "version",
                                            "--format", "{{.Server.APIVersion}}"}));
  };

  ProcessResult good = docker_tls("client");
  INFO(Describe(good));
  CHECK(good.exit_code == 0);
  CHECK(good.out == "1.43\n");

  ProcessResult rogue = docker_tls("rogue");
  INFO(Describe(rogue));
  CHECK(rogue.exit_code != 0);

  // gantry with the same flags, through its TLS tunnel: a whole request,
  // then a run with its hijacked attach and its exit status.
  auto gantry_tls = [&](const std::string& client, std::vector<std::string> args) {
    std::vector<std::string> argv = {engined_test::kGantryCli,
                                     "-H",
                                     host,
                                     "--tlsverify",
                                     "--tlscacert",
                                     d + "/ca.pem",
                                     "--tlscert",
                                     d + "/" + client + ".pem",
                                     "--tlskey",
                                     d + "/" + client + "-key.pem"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(engined.netns().Wrap(argv));
  };
  ProcessResult gantry_good =
      gantry_tls("client", {"version", "--format", "{{.Server.ApiVersion}}"});
  INFO(Describe(gantry_good));
  CHECK(gantry_good.exit_code == 0);
  CHECK(gantry_good.out == "1.43\n");
  ProcessResult gantry_rogue = gantry_tls("rogue", {"ps"});
  INFO(Describe(gantry_rogue));
  CHECK(gantry_rogue.exit_code == 1);
  ProcessResult gantry_no_ca =
      RunProcess(engined.netns().Wrap({engined_test::kGantryCli, "-H", host, "--tlsverify",
                                       "--tlscacert", d + "/client.pem", "ps"}));
  CHECK(gantry_no_ca.exit_code == 1);
  CHECK(absl::StrContains(gantry_no_ca.err, "TLS handshake with 127.0.0.1"));

  ProcessResult no_cert = RunProcess(
      engined.netns().Wrap({"/usr/bin/curl", "-s", "--cacert", d + "/ca.pem",
                            "https://127.0.0.1:" + host.substr(host.rfind(':') + 1) + "/_ping"}));
  CHECK(no_cert.exit_code != 0);
  CHECK(no_cert.out != "OK");
}
