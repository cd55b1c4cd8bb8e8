// Reaching a remote engined: the ssh command docker's connection helper
// runs, and the X-Registry-Auth header for push.
#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "cli/client/registry_auth.h"
#include "cli/client/ssh_dialer.h"

namespace {
using namespace gantry::cli;
using nlohmann::json;
}  // namespace

TEST_CASE("ssh:// addresses give ssh's user, host, port and the remote socket", "[cli][ssh]") {
  absl::StatusOr<SshAddress> full = ParseSshAddress("ssh://root@127.0.0.1:2222/tmp/e/engined.sock");
  REQUIRE(full.ok());
  CHECK(full->user == "root");
  CHECK(full->host == "127.0.0.1");
  CHECK(full->port == "2222");
  CHECK(full->socket_path == "/tmp/e/engined.sock");
  CHECK(SshCommand(*full, {"-i", "key"}) ==
        std::vector<std::string>{"ssh", "-o", "ConnectTimeout=30", "-T", "-i", "key", "-l", "root",
                                 "-p", "2222", "--", "127.0.0.1", "gantry", "-H",
                                 "unix:///tmp/e/engined.sock", "system", "dial-stdio"});
  absl::StatusOr<SshAddress> bare = ParseSshAddress("ssh://box");
  REQUIRE(bare.ok());
  CHECK(SshCommand(*bare, {}) == std::vector<std::string>{"ssh", "-o", "ConnectTimeout=30", "-T",
                                                          "--", "box", "gantry", "system",
                                                          "dial-stdio"});
  CHECK(!ParseSshAddress("ssh://").ok());
  CHECK(!ParseSshAddress("ssh://host/tmp/x;rm -rf /").ok());
}

TEST_CASE("push sends the stored credentials of the image's registry, else {}", "[cli][auth]") {
  CHECK(RegistryOf("busybox") == "docker.io");
  CHECK(RegistryOf("library/busybox:1") == "docker.io");
  CHECK(RegistryOf("127.0.0.1:5000/busybox") == "127.0.0.1:5000");
  CHECK(RegistryAuthFromConfig("127.0.0.1:5000/busybox", json::object()) == "e30=");
  const json config = {
      {"auths",
       {{"127.0.0.1:5000", {{"auth", absl::Base64Escape("user:pa:ss")}}},
        {"https://index.docker.io/v1/", {{"auth", absl::Base64Escape("hub:x")}}}}}};
  std::string decoded;
  REQUIRE(
      absl::WebSafeBase64Unescape(RegistryAuthFromConfig("127.0.0.1:5000/b:1", config), &decoded));
  CHECK(json::parse(decoded) ==
        json{{"username", "user"}, {"password", "pa:ss"}, {"serveraddress", "127.0.0.1:5000"}});
  REQUIRE(absl::WebSafeBase64Unescape(RegistryAuthFromConfig("busybox", config), &decoded));
  CHECK(json::parse(decoded)["username"] == "hub");
}
