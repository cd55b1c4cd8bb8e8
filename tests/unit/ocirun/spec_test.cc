// config.json parsing: runc's default spec is accepted as is, and every
// rejection names the field at fault, as users see it after "config.json: ".
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "ocirun/lib/default_spec.h"
#include "ocirun/lib/spec.h"

using nlohmann::json;

namespace {

// What `runc spec` writes, read from Debian's runc itself (packaging/deps.sh
// installs it): ocirun's default spec and parser are held to the real peer.
std::string RuncSpecText() {
  static const std::string text = [] {
    char dir[] = "/tmp/ocirun-spec-test-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    std::string cmd = std::string("cd ") + dir + " && runc spec";
    INFO("runc is a test dependency: run packaging/deps.sh");
    REQUIRE(std::system(cmd.c_str()) == 0);
    auto content = gantry::ReadFile(std::string(dir) + "/config.json");
    REQUIRE(content.ok());
    REQUIRE(gantry::RemoveTree(dir).ok());
    return *content;
  }();
  return text;
}

json RuncSpec() { return json::parse(RuncSpecText()); }

// The error ParseSpec gives for runc's spec after `edit`, or "" if it parses.
template <typename Edit>
std::string ErrorAfter(Edit edit) {
  json doc = RuncSpec();
  edit(doc);
  auto spec = ocirun::ParseSpec(doc);
  return spec.ok() ? "" : std::string(spec.status().message());
}

}  // namespace

TEST_CASE("runc's default spec parses into the values it names", "[spec]") {
  auto spec = ocirun::ParseSpec(RuncSpec());
  REQUIRE(spec.ok());
  CHECK(spec->oci_version == "1.0.2-dev");

  REQUIRE(spec->process);
  const ocirun::Process& p = *spec->process;
  CHECK(p.terminal);
  CHECK(p.user.uid == 0);
  CHECK(p.user.gid == 0);
  CHECK(p.args == std::vector<std::string>{"sh"});
  CHECK(p.env ==
        std::vector<std::string>{
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"});
  CHECK(p.cwd == "/");
  REQUIRE(p.capabilities);
  std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  CHECK(p.capabilities->bounding == caps);
  CHECK(p.capabilities->effective == caps);
  CHECK(p.capabilities->permitted == caps);
  CHECK(p.capabilities->ambient == caps);
  CHECK(p.capabilities->inheritable.empty());
  REQUIRE(p.rlimits.size() == 1);
  CHECK(p.rlimits[0].type == "RLIMIT_NOFILE");
  CHECK(p.rlimits[0].resource == RLIMIT_NOFILE);
  CHECK(p.rlimits[0].hard == 1024);
  CHECK(p.rlimits[0].soft == 1024);
  CHECK(p.no_new_privileges);

  CHECK(spec->root.path == "rootfs");
  CHECK(spec->root.readonly);
  CHECK(spec->hostname == "runc");

  REQUIRE(spec->mounts.size() == 7);
  CHECK(spec->mounts[0].destination == "/proc");
  CHECK(spec->mounts[0].type == "proc");
  CHECK(spec->mounts[0].options.empty());
  CHECK(spec->mounts[2].destination == "/dev/pts");
  CHECK(spec->mounts[2].options == std::vector<std::string>{"nosuid", "noexec", "newinstance",
                                                            "ptmxmode=0666", "mode=0620", "gid=5"});
  CHECK(spec->mounts[6].type == "cgroup");

  const ocirun::Linux& lx = spec->linux;
  REQUIRE(lx.namespaces.size() == 5);
  CHECK(lx.namespaces[0].type == "pid");
  CHECK(lx.namespaces[0].clone_flag == CLONE_NEWPID);
  CHECK(lx.FindNamespace(CLONE_NEWNET));
  CHECK(lx.FindNamespace(CLONE_NEWUTS));
  CHECK(lx.FindNamespace(CLONE_NEWNS));
  CHECK_FALSE(lx.FindNamespace(CLONE_NEWUSER));
  CHECK(lx.namespaces[4].path.empty());
  REQUIRE(lx.resources);
  REQUIRE(lx.resources->devices.size() == 1);
  CHECK_FALSE(lx.resources->devices[0].allow);
  CHECK(lx.resources->devices[0].type == "a");  // absent means all
  CHECK(lx.resources->devices[0].access == "rwm");
  CHECK_FALSE(lx.resources->memory.limit);
  CHECK_FALSE(lx.resources->pids_limit);
  CHECK(lx.masked_paths.size() == 10);
  CHECK(lx.readonly_paths == std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq",
                                                      "/proc/sys", "/proc/sysrq-trigger"});
  CHECK(lx.seccomp.is_null());
  CHECK(lx.cgroups_path.empty());
  CHECK(spec->hooks.prestart.empty());
}

TEST_CASE("ocirun spec writes what runc spec writes", "[spec]") {
  CHECK(json::parse(ocirun::DefaultSpec(false).dump()) == RuncSpec());

  SECTION("and its --rootless spec maps our own ids, as runc's does") {
    json want = RuncSpec();
    want["linux"].erase("resources");
    want["linux"]["namespaces"] =
        json::parse(R"([{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},
                        {"type":"user"}])");
    want["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", ::geteuid()}, {"size", 1}}};
    want["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", ::getegid()}, {"size", 1}}};
    want["mounts"][2]["options"].erase(5);  // gid=5
    want["mounts"][5] = json::parse(R"({"destination": "/sys", "type": "none", "source": "/sys",
        "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})");
    json rootless = json::parse(ocirun::DefaultSpec(true).dump());
    CHECK(rootless == want);
    CHECK(ocirun::ParseSpec(rootless).ok());
  }
}

TEST_CASE("process errors name the field", "[spec]") {
  CHECK(ErrorAfter([](json& d) { d["process"]["args"] = "sh"; }) ==
        "process.args: expected array of strings");
  CHECK(ErrorAfter([](json& d) {
          d["process"]["args"] = {"sh", 1};
        }) == "process.args: expected array of strings");
  CHECK(ErrorAfter([](json& d) { d["process"]["args"] = json::array(); }) ==
        "process.args: must contain at least one element");
  CHECK(ErrorAfter([](json& d) { d["process"]["cwd"] = "tmp"; }) ==
        "process.cwd: must be an absolute path");
  CHECK(ErrorAfter([](json& d) { d["process"].erase("cwd"); }) ==
        "process.cwd: required field is missing");
  CHECK(ErrorAfter([](json& d) { d["process"]["user"]["uid"] = -1; }) ==
        "process.user.uid: expected non-negative integer");
  CHECK(ErrorAfter([](json& d) { d["process"]["terminal"] = "yes"; }) ==
        "process.terminal: expected boolean");
  CHECK(ErrorAfter([](json& d) { d["process"]["capabilities"]["effective"][1] = "CAP_FOO"; }) ==
        "process.capabilities.effective: unknown capability \"CAP_FOO\"");
  CHECK(ErrorAfter([](json& d) { d["process"]["capabilities"]["bounding"] = "CAP_KILL"; }) ==
        "process.capabilities.bounding: expected array of strings");
  CHECK(ErrorAfter([](json& d) { d["process"]["rlimits"][0]["type"] = "RLIMIT_FOO"; }) ==
        "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  CHECK(ErrorAfter([](json& d) { d["process"]["rlimits"][0].erase("soft"); }) ==
        "process.rlimits[0].soft: required field is missing");
  CHECK(ErrorAfter([](json& d) {
          d["process"]["consoleSize"] = json::parse(R"({"height": 24})");
        }) == "process.consoleSize.width: required field is missing");
}

TEST_CASE("root, mount and hook errors name the field", "[spec]") {
  CHECK(ErrorAfter([](json& d) { d.erase("ociVersion"); }) ==
        "ociVersion: required field is missing");
  CHECK(ErrorAfter([](json& d) { d["root"].erase("path"); }) ==
        "root.path: required field is missing");
  CHECK(ErrorAfter([](json& d) { d["mounts"][3]["destination"] = "dev/shm"; }) ==
        "mounts[3].destination: \"dev/shm\" is not an absolute path");
  CHECK(ErrorAfter([](json& d) { d["mounts"][0].erase("destination"); }) ==
        "mounts[0].destination: required field is missing");
  CHECK(ErrorAfter([](json& d) { d["mounts"] = json::object(); }) == "mounts: expected array");
  CHECK(ErrorAfter([](json& d) {
          d["hooks"]["prestart"] = {{{"path", "/bin/true"}}, {{"path", "hooks/net.sh"}}};
        }) == "hooks.prestart[1].path: must be an absolute path");
  CHECK(ErrorAfter([](json& d) {
          d["hooks"]["poststop"] = {{{"path", "/bin/true"}, {"timeout", 0}}};
        }) == "hooks.poststop[0].timeout: must be positive");
  CHECK(ErrorAfter([](json& d) {
          d["hooks"]["createRuntime"] = {{{"args", {"x"}}}};
        }) == "hooks.createRuntime[0].path: required field is missing");
  CHECK(ErrorAfter([](json& d) {
          d["annotations"] = {{"a", 1}};
        }) == "annotations.a: expected string");
}

TEST_CASE("a hostname needs a uts namespace", "[spec]") {
  auto without_uts = [](json& d) {
    json kept = json::array();
    for (auto& ns : d["linux"]["namespaces"])
      if (ns["type"] != "uts") kept.push_back(ns);
    d["linux"]["namespaces"] = kept;
  };
  CHECK(ErrorAfter(without_uts) == "hostname: setting a hostname requires a uts namespace");
  CHECK(ErrorAfter([&](json& d) {
          without_uts(d);
          d.erase("hostname");
        }).empty());
}

TEST_CASE("linux errors name the field", "[spec]") {
  CHECK(ErrorAfter([](json& d) { d["linux"]["namespaces"][0]["type"] = "foo"; }) ==
        "linux.namespaces[0].type: unknown namespace type \"foo\"");
  CHECK(ErrorAfter([](json& d) { d["linux"]["namespaces"][1]["type"] = "pid"; }) ==
        "linux.namespaces[1].type: namespace \"pid\" given more than once");
  CHECK(ErrorAfter([](json& d) { d["linux"]["namespaces"][1]["path"] = "proc/1/ns/net"; }) ==
        "linux.namespaces[1].path: must be an absolute path");
  CHECK(ErrorAfter([](json& d) {
          d["linux"]["uidMappings"] =
              json::parse(R"([{"containerID": 0, "hostID": 1000, "size": 1}])");
        }) == "linux.uidMappings: user namespace mappings given without a user namespace");
  CHECK(ErrorAfter([](json& d) {
          d["linux"]["devices"] = {{{"type", "x"}, {"path", "/dev/x"}}};
        }) == "linux.devices[0].type: invalid device type \"x\" (want c, u, b or p)");
  CHECK(ErrorAfter([](json& d) {
          d["linux"]["devices"] = {{{"type", "c"}, {"path", "/tmp/null"}}};
        }) == "linux.devices[0].path: device path \"/tmp/null\" must be under /dev");
  CHECK(ErrorAfter([](json& d) { d["linux"]["rootfsPropagation"] = "sideways"; }) ==
        "linux.rootfsPropagation: invalid propagation \"sideways\"");
  CHECK(ErrorAfter([](json& d) {
          d["linux"]["personality"] = {{"domain", "BSD"}};
        }) == "linux.personality: unknown personality domain \"BSD\"");
  CHECK(ErrorAfter([](json& d) {
          d["linux"]["sysctl"] = {{"net.ipv4.ip_forward", 1}};
        }) == "linux.sysctl.net.ipv4.ip_forward: expected string");
}

TEST_CASE("resources are typed, and errors name the field", "[spec]") {
  auto resources = [](const char* text) {
    return [text](json& d) { d["linux"]["resources"] = json::parse(text); };
  };
  CHECK(ErrorAfter(resources(R"({"memory": {"limit": "1g"}})")) ==
        "linux.resources.memory.limit: expected integer");
  CHECK(ErrorAfter(resources(R"({"memory": {"swappiness": -1}})")) ==
        "linux.resources.memory.swappiness: expected non-negative integer");
  CHECK(ErrorAfter(resources(R"({"cpu": {"shares": -2}})")) ==
        "linux.resources.cpu.shares: expected non-negative integer");
  CHECK(ErrorAfter(resources(R"({"cpu": {"cpus": 3}})")) ==
        "linux.resources.cpu.cpus: expected string");
  CHECK(ErrorAfter(resources(R"({"pids": {}})")) ==
        "linux.resources.pids.limit: required field is missing");
  CHECK(ErrorAfter(resources(R"({"blockIO": {"weight": 70000}})")) ==
        "linux.resources.blockIO.weight: integer out of range");
  CHECK(ErrorAfter(
            resources(R"({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0}]}})")) ==
        "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required field is missing");
  CHECK(ErrorAfter(resources(R"({"hugepageLimits": {"pageSize": "2MB"}})")) ==
        "linux.resources.hugepageLimits: expected array");
  CHECK(ErrorAfter(resources(R"({"devices": [{"allow": true, "type": "x"}]})")) ==
        "linux.resources.devices[0].type: invalid device type \"x\" (want a, c or b)");
  CHECK(ErrorAfter(resources(R"({"devices": [{"allow": true, "access": "rwx"}]})")) ==
        "linux.resources.devices[0].access: invalid access \"rwx\" (want r, w, m)");
  CHECK(ErrorAfter(resources(R"({"devices": [{"access": "rwm"}]})")) ==
        "linux.resources.devices[0].allow: required field is missing");
  CHECK(ErrorAfter(resources(R"({"unified": {"memory.high": 5}})")) ==
        "linux.resources.unified.memory.high: expected string");

  SECTION("and every field lands where it belongs") {
    json doc = RuncSpec();
    doc["linux"]["resources"] = json::parse(R"({
      "memory": {"limit": 268435456, "reservation": 134217728, "swap": -1, "swappiness": 10,
                 "disableOOMKiller": true},
      "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
      "pids": {"limit": 64},
      "blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                  "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 1073741824}],
      "devices": [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
      "unified": {"memory.high": "max"}})");
    auto spec = ocirun::ParseSpec(doc);
    REQUIRE(spec.ok());
    const ocirun::Resources& r = *spec->linux.resources;
    CHECK(*r.memory.limit == 268435456);
    CHECK(*r.memory.reservation == 134217728);
    CHECK(*r.memory.swap == -1);
    CHECK(*r.memory.swappiness == 10);
    CHECK(*r.memory.disable_oom_killer);
    CHECK(*r.cpu.shares == 512);
    CHECK(*r.cpu.quota == 50000);
    CHECK(*r.cpu.period == 100000);
    CHECK(r.cpu.cpus == "0-1");
    CHECK(r.cpu.mems == "0");
    CHECK(*r.pids_limit == 64);
    CHECK(*r.block_io.weight == 300);
    REQUIRE(r.block_io.weight_device.size() == 1);
    CHECK(*r.block_io.weight_device[0].weight == 200);
    REQUIRE(r.block_io.throttle_write_iops.size() == 1);
    CHECK(r.block_io.throttle_write_iops[0].minor == 16);
    CHECK(r.block_io.throttle_write_iops[0].rate == 100);
    REQUIRE(r.hugepage_limits.size() == 1);
    CHECK(r.hugepage_limits[0].page_size == "2MB");
    REQUIRE(r.devices.size() == 1);
    CHECK(r.devices[0].allow);
    CHECK(*r.devices[0].major == 1);
    CHECK(r.devices[0].access == "rw");
    CHECK(r.unified.at("memory.high") == "max");
  }
}

TEST_CASE("update -r takes a bare resources object", "[spec]") {
  auto r = ocirun::ParseResources(json::parse(R"({"memory": {"limit": 1048576}})"), "resources");
  REQUIRE(r.ok());
  CHECK(*r->memory.limit == 1048576);
  auto bad = ocirun::ParseResources(json::parse(R"({"pids": {"limit": "x"}})"), "resources");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "resources.pids.limit: expected integer");
}

TEST_CASE("LoadSpec reads the bundle's config.json and prefixes errors with it", "[spec]") {
  char tmpl[] = "/tmp/gantry-spec-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::string bundle = tmpl;

  auto missing = ocirun::LoadSpec(bundle);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == bundle + "/config.json: no such file (is --bundle right?)");

  json doc = RuncSpec();
  doc["process"]["args"] = "sh";
  REQUIRE(gantry::WriteFileAtomic(bundle + "/config.json", doc.dump()).ok());
  auto bad = ocirun::LoadSpec(bundle);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "config.json: process.args: expected array of strings");

  REQUIRE(gantry::WriteFileAtomic(bundle + "/config.json", RuncSpecText()).ok());
  CHECK(ocirun::LoadSpec(bundle).ok());
  REQUIRE(gantry::RemoveTree(bundle).ok());
}
