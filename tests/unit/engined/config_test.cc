// daemon.json and -H addresses as dockerd reads them.
#include <catch2/catch.hpp>

#include "engined/config/daemon_config.h"
#include "engined/daemon/host_info.h"
#include "engined/server/listen_address.h"

using gantry::engined::ListenAddress;
using gantry::engined::ParseDaemonConfig;
using gantry::engined::ParseListenAddress;

TEST_CASE("daemon.json applies Docker's keys", "[config]") {
  auto config = ParseDaemonConfig(R"({"hosts":["unix:///a.sock","tcp://127.0.0.1:2375"],
      "data-root":"/d","exec-root":"/e","debug":true,"log-level":"warn",
      "log-driver":"json-file","log-opts":{"max-size":"10m"}})",
                                  "daemon.json");
  REQUIRE(config.ok());
  CHECK(*config->hosts == std::vector<std::string>{"unix:///a.sock", "tcp://127.0.0.1:2375"});
  CHECK(config->data_root == "/d");
  CHECK(config->exec_root == "/e");
  CHECK(config->debug == true);
  CHECK(config->log_level == "warn");
  CHECK(config->pending["log-opts"]["max-size"] == "10m");
}

TEST_CASE("daemon.json refuses unknown keys by name", "[config]") {
  auto config = ParseDaemonConfig(R"({"debug":true,"data-rooot":"/x"})", "/etc/daemon.json");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().message() ==
        "/etc/daemon.json: the following directives don't match any configuration option: "
        "data-rooot");
}

TEST_CASE("daemon.json type errors name the key", "[config]") {
  auto config = ParseDaemonConfig(R"({"hosts":"unix:///a.sock"})", "daemon.json");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().message() ==
        "daemon.json: \"hosts\": expected array of strings, got \"unix:///a.sock\"");
  CHECK_FALSE(ParseDaemonConfig(R"({"log-level":"loud"})", "daemon.json").ok());
  CHECK_FALSE(ParseDaemonConfig("[1]", "daemon.json").ok());
  CHECK_FALSE(ParseDaemonConfig("{", "daemon.json").ok());
}

TEST_CASE("a missing daemon.json is empty unless asked for", "[config]") {
  CHECK(gantry::engined::LoadDaemonConfig("/nonexistent/daemon.json", false).ok());
  CHECK_FALSE(gantry::engined::LoadDaemonConfig("/nonexistent/daemon.json", true).ok());
}

TEST_CASE("-H addresses parse as dockerd's", "[address]") {
  ListenAddress unix_address = *ParseListenAddress("unix:///run/gantry.sock", false);
  CHECK(unix_address.kind == ListenAddress::Kind::kUnix);
  CHECK(unix_address.path == "/run/gantry.sock");

  ListenAddress local = *ParseListenAddress("tcp://127.0.0.1:2375", false);
  CHECK(local.kind == ListenAddress::Kind::kTcp);
  CHECK(local.port == 2375);
  CHECK(local.IsLoopback());
  CHECK(ParseListenAddress("tcp://[::1]:9", false)->IsLoopback());
  CHECK_FALSE(ParseListenAddress("tcp://0.0.0.0:2376", true)->IsLoopback());
  CHECK(ParseListenAddress("tcp://10.0.0.1", true)->port == 2376);
  CHECK(ParseListenAddress("tcp://10.0.0.1", false)->port == 2375);

  CHECK_FALSE(ParseListenAddress("unix://relative.sock", false).ok());
  CHECK_FALSE(ParseListenAddress("tcp://localhost:2375", false).ok());
  CHECK_FALSE(ParseListenAddress("tcp://127.0.0.1:99999", false).ok());
  CHECK_FALSE(ParseListenAddress("fd://", false).ok());
}

TEST_CASE("os-release and machine names read as Docker reports them", "[host]") {
  gantry::engined::HostInfo info;
  gantry::engined::ParseOsRelease(
      "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 "
      "(bookworm)\"\nVERSION_ID=\"12\"\n",
      info);
  CHECK(info.operating_system == "Debian GNU/Linux 12 (bookworm)");
  CHECK(info.os_version == "12");
  CHECK(gantry::engined::GoArch("x86_64") == "amd64");
  CHECK(gantry::engined::GoArch("aarch64") == "arm64");
  CHECK(gantry::engined::GoArch("s390x") == "s390x");
}
