// Docker's defaults as dockerd puts them into a container's config.json: the
// capability set with --cap-add/--cap-drop, and the seccomp profile for it.
#include <catch2/catch.hpp>

#include "common/oci_defaults/capabilities.h"
#include "common/oci_defaults/seccomp_profile.h"

using gantry::oci_defaults::DockerDefaultCapabilities;
using gantry::oci_defaults::DockerDefaultSeccomp;
using gantry::oci_defaults::MergeCapabilities;
using gantry::oci_defaults::SeccompPlatform;
using nlohmann::json;
using Strings = std::vector<std::string>;

namespace {

const SeccompPlatform kAmd64{"amd64", 6, 1};

json Profile(const Strings& caps, const SeccompPlatform& platform = kAmd64) {
  auto profile = DockerDefaultSeccomp(caps, platform);
  REQUIRE(profile.ok());
  return *profile;
}

// Rules that name `syscall`.
std::vector<json> RulesFor(const json& profile, const std::string& syscall) {
  std::vector<json> out;
  for (const auto& rule : profile["syscalls"])
    for (const auto& name : rule["names"])
      if (name == syscall) out.push_back(rule);
  return out;
}

// Allowed whatever its arguments.
bool AllowedOutright(const json& profile, const std::string& syscall) {
  for (const auto& rule : RulesFor(profile, syscall))
    if (rule["action"] == "SCMP_ACT_ALLOW" && !rule.contains("args")) return true;
  return false;
}

Strings With(Strings caps, const std::string& cap) {
  caps.push_back(cap);
  return caps;
}

}  // namespace

TEST_CASE("Docker's default capabilities are moby's fourteen", "[oci_defaults]") {
  const Strings& caps = DockerDefaultCapabilities();
  CHECK(caps.size() == 14);
  for (const char* cap : {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                          "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                          "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"})
    CHECK(std::find(caps.begin(), caps.end(), cap) != caps.end());
  CHECK(gantry::oci_defaults::CapabilityNumber("CAP_SYS_ADMIN") == 21);
  CHECK(gantry::oci_defaults::CapabilityNumber("SYS_ADMIN") == -1);
}

TEST_CASE("cap-add and cap-drop follow docker run's rules", "[oci_defaults]") {
  const Strings base = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"};
  SECTION("names in any case, with or without CAP_") {
    auto caps = MergeCapabilities(base, {"sys_admin", "CAP_NET_ADMIN"}, {"net_raw"});
    REQUIRE(caps.ok());
    CHECK(*caps == Strings{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"});
  }
  SECTION("adding one already there keeps one copy") {
    auto caps = MergeCapabilities(base, {"KILL"}, {});
    REQUIRE(caps.ok());
    CHECK(*caps == base);
  }
  SECTION("ALL added grants every capability but those dropped") {
    auto caps = MergeCapabilities(base, {"ALL"}, {"SYS_ADMIN"});
    REQUIRE(caps.ok());
    CHECK(std::find(caps->begin(), caps->end(), "CAP_SYS_PTRACE") != caps->end());
    CHECK(std::find(caps->begin(), caps->end(), "CAP_SYS_ADMIN") == caps->end());
    CHECK(caps->size() > 30);
  }
  SECTION("ALL dropped keeps only those added") {
    auto caps = MergeCapabilities(base, {"net_bind_service"}, {"all"});
    REQUIRE(caps.ok());
    CHECK(*caps == Strings{"CAP_NET_BIND_SERVICE"});
  }
  SECTION("an unknown name is an error naming it") {
    auto add = MergeCapabilities(base, {"CAP_FLY"}, {});
    REQUIRE_FALSE(add.ok());
    CHECK(add.status().message() == "cap-add: unknown capability \"CAP_FLY\"");
    auto drop = MergeCapabilities(base, {}, {"swim"});
    REQUIRE_FALSE(drop.ok());
    CHECK(drop.status().message() == "cap-drop: unknown capability \"swim\"");
  }
}

TEST_CASE("the default profile denies with EPERM and covers the host's arch family",
          "[oci_defaults]") {
  json p = Profile(DockerDefaultCapabilities());
  CHECK(p["defaultAction"] == "SCMP_ACT_ERRNO");
  CHECK(p["defaultErrnoRet"] == 1);
  CHECK(p["architectures"] == json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  CHECK(Profile(DockerDefaultCapabilities(), {"arm64", 6, 1})["architectures"] ==
        json({"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
  CHECK(Profile(DockerDefaultCapabilities(), {"riscv64", 6, 1})["architectures"] ==
        json({"SCMP_ARCH_RISCV64"}));
  // Only OCI fields are left in the rules.
  for (const auto& rule : p["syscalls"]) {
    CHECK_FALSE(rule.contains("includes"));
    CHECK_FALSE(rule.contains("excludes"));
    CHECK_FALSE(rule.contains("comment"));
  }
}

TEST_CASE("the default profile with Docker's capabilities", "[oci_defaults]") {
  json p = Profile(DockerDefaultCapabilities());
  CHECK(AllowedOutright(p, "mkdir"));
  CHECK(AllowedOutright(p, "chroot"));  // CAP_SYS_CHROOT is a default
  CHECK(AllowedOutright(p, "arch_prctl"));
  CHECK_FALSE(AllowedOutright(p, "s390_runtime_instr"));
  for (const char* denied : {"reboot", "mount", "umount2", "unshare", "setns", "bpf", "acct",
                             "init_module", "kcmp", "pidfd_getfd", "settimeofday"}) {
    INFO(denied);
    CHECK(RulesFor(p, denied).empty());
  }
  // ptrace needs kernel 4.8 or CAP_SYS_PTRACE (older kernels let seccomp be bypassed by it).
  CHECK(AllowedOutright(p, "ptrace"));
  CHECK(RulesFor(Profile(DockerDefaultCapabilities(), {"amd64", 4, 4}), "ptrace").empty());
  CHECK(AllowedOutright(
      Profile(With(DockerDefaultCapabilities(), "CAP_SYS_PTRACE"), {"amd64", 4, 4}), "ptrace"));

  // clone only without namespace flags; clone3 fails with ENOSYS so libc falls back to clone.
  auto clone = RulesFor(p, "clone");
  REQUIRE(clone.size() == 1);
  CHECK(clone[0]["args"] ==
        json::parse(R"([{"index":0,"value":2114060288,"op":"SCMP_CMP_MASKED_EQ"}])"));
  auto clone3 = RulesFor(p, "clone3");
  REQUIRE(clone3.size() == 1);
  CHECK(clone3[0]["action"] == "SCMP_ACT_ERRNO");
  CHECK(clone3[0]["errnoRet"] == 38);

  // personality only for the harmless personas.
  auto personality = RulesFor(p, "personality");
  REQUIRE(personality.size() == 5);
  CHECK(personality[4]["args"][0]["value"] == 4294967295u);
  // AF_VSOCK (40) sockets are refused.
  CHECK(RulesFor(p, "socket").at(0)["args"][0] ==
        json::parse(R"({"index":0,"value":40,"op":"SCMP_CMP_NE"})"));
}

TEST_CASE("capabilities open their syscalls", "[oci_defaults]") {
  json admin = Profile(With(DockerDefaultCapabilities(), "CAP_SYS_ADMIN"));
  for (const char* allowed : {"mount", "umount2", "unshare", "setns", "clone", "clone3"}) {
    INFO(allowed);
    CHECK(AllowedOutright(admin, allowed));
  }
  // The clone and clone3 restrictions are gone with CAP_SYS_ADMIN.
  for (const auto& rule : RulesFor(admin, "clone3")) CHECK(rule["action"] == "SCMP_ACT_ALLOW");
  for (const auto& rule : RulesFor(admin, "clone")) CHECK_FALSE(rule.contains("args"));

  CHECK(AllowedOutright(Profile(With(DockerDefaultCapabilities(), "CAP_SYS_BOOT")), "reboot"));
  CHECK(AllowedOutright(Profile(With(DockerDefaultCapabilities(), "CAP_SYS_PTRACE")), "kcmp"));
  CHECK(RulesFor(Profile({}), "chroot").empty());
}

TEST_CASE("s390 gets its own clone rule", "[oci_defaults]") {
  json p = Profile(DockerDefaultCapabilities(), {"s390x", 6, 1});
  auto clone = RulesFor(p, "clone");
  REQUIRE(clone.size() == 1);
  CHECK(clone[0]["args"][0]["index"] == 1);
  CHECK(p["architectures"] == json({"SCMP_ARCH_S390X", "SCMP_ARCH_S390"}));
}

TEST_CASE("profile errors name the field", "[oci_defaults]") {
  json bad = json::parse(R"({"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
      {"names":["x"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"four"}}]})");
  auto p = gantry::oci_defaults::SeccompFromProfile(bad, {}, kAmd64);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message() ==
        "seccomp profile: syscalls[0].includes.minKernel: expected a kernel version "
        "\"major.minor\", got \"four\"");
  json both = json::parse(R"({"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86"],
      "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}]})");
  CHECK_FALSE(gantry::oci_defaults::SeccompFromProfile(both, {}, kAmd64).ok());
}
