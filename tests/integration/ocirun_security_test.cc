// Regression tests for runc's vulnerability classes: each would fail on a
// runtime that has the hole.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ocirun_test_util.h"

using ocirun_test::Exists;
using ocirun_test::OcirunEnv;
using ocirun_test::ProcessResult;
using ocirun_test::RunProcess;

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

namespace {

// Points Runtime() at a private copy of the runtime while it lives, so that
// a vulnerable runtime overwrites the copy and not the binary other tests
// use. Declared after the OcirunEnv: the env cleans up with the usual runtime.
// Where the copy lives picks the view ocirun re-executes from: in a folder of
// its own, a read-only overlayfs of that folder; beside --root, a sealed
// memfd (overlayfs refuses overlapping layers, as it is refused without
// CAP_SYS_ADMIN).
class RuntimeCopy {
 public:
  enum class View { kOverlay, kMemfd };
  RuntimeCopy(const OcirunEnv& env, View view)
      : path_((view == View::kOverlay ? env.MakeDir("bin") : env.dir()) + "/runtime-copy") {
    if (const char* old = std::getenv("OCIRUN_TEST_RUNTIME")) old_ = old;
    REQUIRE(RunProcess({"/bin/cp", ocirun_test::Runtime(), path_}).exit_code == 0);
    ::setenv("OCIRUN_TEST_RUNTIME", path_.c_str(), 1);
    sha256_ = Sha256();
  }
  ~RuntimeCopy() {
    if (old_.empty())
      ::unsetenv("OCIRUN_TEST_RUNTIME");
    else
      ::setenv("OCIRUN_TEST_RUNTIME", old_.c_str(), 1);
  }
  bool Unchanged() const { return Sha256() == sha256_; }
  const std::string& path() const { return path_; }

 private:
  std::string Sha256() const {
    ProcessResult r = RunProcess({"/usr/bin/sha256sum", path_});
    REQUIRE(r.exit_code == 0);
    return r.out.substr(0, 64);
  }
  std::string path_, old_, sha256_;
};

// A container that can reach ocirun's processes: CAP_SYS_PTRACE (which
// overrides non-dumpable), a writable rootfs for its findings, a waiting init.
void MakeAttacker(OcirunEnv& env) {
  for (const char* set : {"bounding", "effective", "permitted"})
    env.config()["process"]["capabilities"][set].push_back("CAP_SYS_PTRACE");
  env.config()["root"]["readonly"] = false;
  env.SetScript("sleep 60");
}

}  // namespace

// CVE-2019-5736 replayed with CAP_SYS_PTRACE during `exec`: the container opens
// /proc/<ocirun exec>/exe, holds it, and writes through it once ocirun is gone.
TEST_CASE("CVE-2019-5736: a container with CAP_SYS_PTRACE cannot rewrite ocirun during exec",
          "[security]") {
  OcirunEnv env;
  auto view = GENERATE(RuntimeCopy::View::kOverlay, RuntimeCopy::View::kMemfd);
  RuntimeCopy runtime(env, view);
  MakeAttacker(env);
  // The host's pid namespace: `ocirun exec` itself is then the parent of
  // the exec'd shell, visible from inside.
  auto& ns = env.config()["linux"]["namespaces"];
  for (auto it = ns.begin(); it != ns.end();) it = (*it)["type"] == "pid" ? ns.erase(it) : it + 1;
  std::string id = env.RunDetached();

  ProcessResult r = env.Ocirun(
      {"exec", id, "sh", "-c",
       "pp=$PPID; readlink /proc/$pp/exe; "
       "(exec 4>>/proc/$pp/exe) 2>/dev/null && echo wronly=opened || echo wronly=refused; "
       "(exec 4<>/proc/$pp/exe) 2>/dev/null && echo rdwr=opened || echo rdwr=refused; "
       "exec 3</proc/$pp/exe && echo held; "
       "( while [ -d /proc/$pp ]; do sleep 0.05; done; "
       "  (echo x >>/proc/self/fd/3) 2>/dev/null && echo late=written || echo late=refused; "
       "  (printf x 1<>/proc/self/fd/3) 2>/dev/null && echo late=written || echo late=refused "
       ") >/tmp/late.tmp 2>&1 && mv /tmp/late.tmp /tmp/late &"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find(runtime.path()) == std::string::npos);  // not the host's file
  CHECK(r.out.find("wronly=refused") != std::string::npos);
  CHECK(r.out.find("rdwr=refused") != std::string::npos);
  CHECK(r.out.find("held") != std::string::npos);  // CAP_SYS_PTRACE did reach it
  // ocirun exec is gone (reaped by RunProcess): the held descriptor is the
  // exploit's second chance.
  std::string late_path = env.bundle() + "/rootfs/tmp/late";
  REQUIRE(ocirun_test::Eventually([&] { return Exists(late_path); }));
  std::string late = ocirun_test::ReadFile(late_path).value_or("");
  INFO(late);
  CHECK(late == "late=refused\nlate=refused\n");
  CHECK(runtime.Unchanged());
}

// The same during `create`/`run`: the not yet started init is ocirun; the
// container holds /proc/1/exe and writes through it after the init has exec'd.
TEST_CASE("CVE-2019-5736: a container with CAP_SYS_PTRACE cannot rewrite ocirun through its init",
          "[security]") {
  OcirunEnv env;
  auto view = GENERATE(RuntimeCopy::View::kOverlay, RuntimeCopy::View::kMemfd);
  RuntimeCopy runtime(env, view);
  MakeAttacker(env);
  std::string id = env.Create();
  ProcessResult r =
      env.Ocirun({"exec", "-d", id, "sh", "-c",
                  "exec 3</proc/1/exe || exit; readlink /proc/1/exe >/tmp/init-exe; "
                  "(exec 4>>/proc/1/exe) 2>/dev/null && echo wronly=opened >>/tmp/init-exe; "
                  "while ! readlink /proc/1/exe | grep -q busybox; do sleep 0.05; done; "
                  "(echo x >>/proc/self/fd/3) 2>/dev/null && echo late=written >/tmp/late.tmp "
                  "|| echo late=refused >/tmp/late.tmp; mv /tmp/late.tmp /tmp/late"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string rootfs = env.bundle() + "/rootfs";
  REQUIRE(ocirun_test::Eventually([&] { return Exists(rootfs + "/tmp/init-exe"); }));
  REQUIRE(env.Ocirun({"start", id}).exit_code == 0);
  REQUIRE(ocirun_test::Eventually([&] { return Exists(rootfs + "/tmp/late"); }));
  std::string init_exe = ocirun_test::ReadFile(rootfs + "/tmp/init-exe").value_or("");
  CHECK(init_exe.find(runtime.path()) == std::string::npos);
  CHECK(init_exe.find("wronly=opened") == std::string::npos);
  CHECK(ocirun_test::ReadFile(rootfs + "/tmp/late") == "late=refused\n");
  CHECK(runtime.Unchanged());
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
