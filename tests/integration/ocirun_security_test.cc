// Regression tests for runc's vulnerability classes: each would fail on a
// runtime that has the hole.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ocirun_test_util.h"

using ocirun_test::Exists;
using ocirun_test::OcirunEnv;
using ocirun_test::ProcessResult;

TEST_CASE("CVE-2019-5736: the container cannot open the runtime's binary through /proc/1/exe",
          "[security]") {
  OcirunEnv env;
  env.SetScript("sleep 60");
  // Created, not started: the init is still ocirun, blocked on the exec fifo.
  std::string id = env.Create();
  ProcessResult r = env.Ocirun({"exec", id, "sh", "-c",
                                "readlink /proc/1/exe; echo readlink=$?; "
                                "cat /proc/1/exe >/dev/null; echo cat=$?"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("ocirun") == std::string::npos);
  CHECK(r.out.find("readlink=1") != std::string::npos);
  CHECK(r.out.find("cat=1") != std::string::npos);
}

TEST_CASE("CVE-2024-21626: process.cwd through a descriptor never reaches the host", "[security]") {
  OcirunEnv env;
  env.config()["root"]["readonly"] = false;
  env.SetScript("pwd; ls ..");
  for (int fd = 3; fd <= 9; ++fd) {
    std::string cwd = absl::StrCat("/proc/self/fd/", fd);
    INFO(cwd);
    env.config()["process"]["cwd"] = cwd;
    ProcessResult r = env.Run();
    // Either refused outright, or (a non-directory fd) an error: never a run.
    CHECK(r.exit_code == 1);
    CHECK(absl::StartsWith(r.err, "ocirun: process.cwd"));
    CHECK(r.out.empty());
  }
}

TEST_CASE("exec'd processes get no descriptor of ocirun's", "[security]") {
  OcirunEnv env;
  env.SetScript("sleep 60");
  std::string id = env.RunDetached();
  // Only 0-2 and the one ls opens on /proc/self/fd itself.
  ProcessResult r = env.Ocirun({"exec", id, "ls", "/proc/self/fd"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "0\n1\n2\n3\n");
  ProcessResult init = env.Ocirun({"exec", id, "ls", "/proc/1/fd"});
  REQUIRE(init.exit_code == 0);
  CHECK(init.out == "0\n1\n2\n");
}

TEST_CASE("CVE-2021-30465 class: a symlink in the rootfs cannot send a mount to the host",
          "[security]") {
  OcirunEnv env;
  std::string outside = env.MakeDir("outside");
  // /escape -> /../../../../<outside>: on the host that is `outside`; in the
  // container it must resolve inside the rootfs.
  std::string rootfs = env.bundle() + "/rootfs";
  REQUIRE(::symlink(absl::StrCat("/../../../../../../..", outside).c_str(),
                    (rootfs + "/escape").c_str()) == 0);
  env.config()["mounts"].push_back({{"destination", "/escape/mnt"},
                                    {"type", "tmpfs"},
                                    {"source", "tmpfs"},
                                    {"options", {"nosuid", "nodev"}}});
  env.config()["root"]["readonly"] = false;
  env.SetScript("grep -c ' /escape/mnt\\| " + outside + "/mnt ' /proc/self/mountinfo || true");
  ProcessResult r = env.Run();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  // Nothing appeared on the host side of the symlink...
  CHECK_FALSE(Exists(outside + "/mnt"));
  // ...while the container got its tmpfs inside its own root.
  CHECK(Exists(rootfs + outside + "/mnt"));
}

TEST_CASE("proc is never mounted onto a symlink", "[security]") {
  OcirunEnv env;
  std::string rootfs = env.bundle() + "/rootfs";
  std::string target = env.MakeDir("proc-target");
  REQUIRE(::rmdir((rootfs + "/proc").c_str()) == 0);
  REQUIRE(::symlink(target.c_str(), (rootfs + "/proc").c_str()) == 0);
  ProcessResult r = env.Run();
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("mounts[0]") != std::string::npos);
  CHECK(r.err.find("/proc") != std::string::npos);
}

TEST_CASE("masked and read-only paths hold when missing or made symlinks", "[security]") {
  OcirunEnv env;
  std::string rootfs = env.bundle() + "/rootfs";
  ocirun_test::WriteFile(rootfs + "/etc/secret", "top secret\n");
  REQUIRE(::symlink("/etc/secret", (rootfs + "/etc/secret-link").c_str()) == 0);
  env.config()["linux"]["maskedPaths"] = {"/etc/secret-link", "/does/not/exist"};
  env.config()["linux"]["readonlyPaths"] = {"/no/such/dir"};
  env.SetScript("cat /etc/secret; echo done");
  ProcessResult r = env.Run();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "done\n");  // the file behind the link reads as /dev/null
}
