// A container with what dockerd gives one by default (common/oci_defaults):
// Docker's capability set and its seccomp profile, seen from inside.
#include <catch2/catch.hpp>

#include "common/oci_defaults/capabilities.h"
#include "common/oci_defaults/seccomp_profile.h"
#include "ocirun_test_util.h"

using gantry::oci_defaults::DockerDefaultCapabilities;
using gantry::oci_defaults::SeccompPlatform;
using ocirun_test::OcirunEnv;
using ocirun_test::ProcessResult;

namespace {

void UseDockerDefaults(OcirunEnv& env, const std::vector<std::string>& caps, bool seccomp) {
  auto& c = env.config()["process"]["capabilities"];
  c = nlohmann::json::object();
  for (const char* set : {"bounding", "effective", "permitted"}) c[set] = caps;
  if (seccomp) {
    auto profile = gantry::oci_defaults::DockerDefaultSeccomp(caps, SeccompPlatform::Host());
    REQUIRE(profile.ok());
    env.config()["linux"]["seccomp"] = *profile;
  }
  env.config()["root"]["readonly"] = false;
}

}  // namespace

TEST_CASE("Docker's default profile and capabilities: what works and what is refused",
          "[docker-defaults]") {
  OcirunEnv env;
  UseDockerDefaults(env, DockerDefaultCapabilities(), true);
  env.SetScript(
      "mkdir /made && echo mkdir=$?; "
      "unshare -U true; echo unshare=$?; "
      "mount -t tmpfs none /tmp; echo mount=$?; "
      "grep -E '^Cap(Eff|Bnd)' /proc/self/status");
  ProcessResult r = env.Run();
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("mkdir=0") != std::string::npos);
  CHECK(r.out.find("unshare=1") != std::string::npos);
  CHECK(r.out.find("mount=1") != std::string::npos);
  CHECK(r.err.find("unshare: unshare(0x10000000): Operation not permitted") != std::string::npos);
  CHECK(r.err.find("mount: permission denied") != std::string::npos);
  // Docker's well-known default mask.
  CHECK(r.out.find("CapEff:\t00000000a80425fb") != std::string::npos);
  CHECK(r.out.find("CapBnd:\t00000000a80425fb") != std::string::npos);
}

TEST_CASE("without the profile the same capabilities allow a user namespace", "[docker-defaults]") {
  // The control for the test above: its unshare is refused by seccomp.
  OcirunEnv env;
  UseDockerDefaults(env, DockerDefaultCapabilities(), false);
  env.SetScript("unshare -U true; echo unshare=$?");
  ProcessResult r = env.Run();
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "unshare=0\n");
}

TEST_CASE("with CAP_SYS_ADMIN the profile allows mount", "[docker-defaults]") {
  OcirunEnv env;
  auto caps = DockerDefaultCapabilities();
  caps.push_back("CAP_SYS_ADMIN");
  UseDockerDefaults(env, caps, true);
  env.SetScript("mount -t tmpfs none /tmp && grep -c ' /tmp ' /proc/self/mountinfo");
  ProcessResult r = env.Run();
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "1\n");
}
