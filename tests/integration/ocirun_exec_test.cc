// `ocirun exec`: a new process joins a running container's namespaces,
// cgroup and settings, with the command line's overrides (as runc exec).
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ocirun_test_util.h"

using ocirun_test::OcirunEnv;
using ocirun_test::ProcessResult;
using ocirun_test::Trim;

namespace {

std::string NamespaceOf(pid_t pid, const char* ns) {
  char buf[128] = {};
  ssize_t n = ::readlink(absl::StrCat("/proc/", pid, "/ns/", ns).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

}  // namespace

TEST_CASE("exec runs in the container's namespaces and cgroup", "[exec]") {
  OcirunEnv env;
  env.config()["hostname"] = "exec-host";
  env.SetScript("sleep 60");
  std::string id = env.RunDetached();
  pid_t init = env.Pid(id);

  ProcessResult r = env.Ocirun({"exec", id, "sh", "-c",
                                "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/mnt; "
                                "readlink /proc/self/ns/pid; echo $$; cat /proc/self/cgroup"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n');
  REQUIRE(lines.size() > 5);
  CHECK(lines[0] == "exec-host");
  CHECK(lines[1] == NamespaceOf(init, "net"));
  CHECK(lines[2] == NamespaceOf(init, "mnt"));
  CHECK(lines[3] == NamespaceOf(init, "pid"));
  CHECK(lines[4] != "1");  // a new pid in the container's pid namespace
  // Same cgroup as the init in every hierarchy.
  auto init_cgroup = ocirun_test::ReadFile(absl::StrCat("/proc/", init, "/cgroup"));
  REQUIRE(init_cgroup);
  for (const auto& line : ocirun_test::LinesContaining(*init_cgroup, ":pids:"))
    CHECK(r.out.find(line) != std::string::npos);
}

TEST_CASE("exec returns the process's exit code, 128+N when killed", "[exec]") {
  OcirunEnv env;
  env.SetScript("sleep 60");
  std::string id = env.RunDetached();
  CHECK(env.Ocirun({"exec", id, "sh", "-c", "exit 7"}).exit_code == 7);
  CHECK(env.Ocirun({"exec", id, "sh", "-c", "kill -9 $$"}).exit_code == 137);
  ProcessResult missing = env.Ocirun({"exec", id, "no-such-program"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("executable file not found in $PATH") != std::string::npos);
}

TEST_CASE("exec takes the container's process settings and the command line's overrides",
          "[exec]") {
  OcirunEnv env;
  env.config()["process"]["env"].push_back("FROM_CONFIG=yes");
  env.SetScript("sleep 60");
  std::string id = env.RunDetached();

  ProcessResult r =
      env.Ocirun({"exec", "-u", "1000:1000", "--cwd", "/tmp", "-e", "EXTRA=1", id, "sh", "-c",
                  "id -u; id -g; pwd; echo $FROM_CONFIG$EXTRA; echo $HOME"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "1000\n1000\n/tmp\nyes1\n/home/gantry\n");

  // The default spec's capabilities, plus one given with --cap.
  ProcessResult caps = env.Ocirun(
      {"exec", "--cap", "CAP_SYS_ADMIN", id, "sh", "-c", "grep CapEff /proc/self/status"});
  REQUIRE(caps.exit_code == 0);
  // CAP_KILL(5), CAP_NET_BIND_SERVICE(10), CAP_SYS_ADMIN(21), CAP_AUDIT_WRITE(29)
  CHECK(Trim(caps.out) == "CapEff:\t0000000020200420");

  ProcessResult nnp = env.Ocirun({"exec", id, "sh", "-c", "grep NoNewPrivs /proc/self/status"});
  CHECK(Trim(nnp.out) == "NoNewPrivs:\t1");  // runc's default spec sets it
  CHECK(env.Ocirun({"exec", "--cap", "CAP_BOGUS", id, "true"})
            .err.find("unknown capability \"CAP_BOGUS\"") != std::string::npos);
}

TEST_CASE("exec -p takes a whole process.json", "[exec]") {
  OcirunEnv env;
  env.SetScript("sleep 60");
  std::string id = env.RunDetached();
  std::string file = env.dir() + "/process.json";
  ocirun_test::WriteFile(file, R"({"args":["sh","-c","echo from json; id -u"],"cwd":"/",
                                  "user":{"uid":65534,"gid":65534},"env":["PATH=/bin"]})");
  ProcessResult r = env.Ocirun({"exec", "-p", file, id});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "from json\n65534\n");
}

TEST_CASE("exec -d leaves the process running and writes its pid", "[exec]") {
  OcirunEnv env;
  env.SetScript("sleep 60");
  std::string id = env.RunDetached();
  std::string pid_file = env.dir() + "/exec.pid";
  ProcessResult r = env.Ocirun({"exec", "-d", "--pid-file", pid_file, id, "sleep", "30"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto pid = ocirun_test::ReadFile(pid_file);
  REQUIRE(pid);
  CHECK(ocirun_test::ProcessAlive(std::stoi(*pid)));
  ProcessResult ps = env.Ocirun({"ps", "--format", "json", id});
  CHECK(ps.out.find(*pid) != std::string::npos);
}

TEST_CASE("exec into a stopped or paused container is refused", "[exec]") {
  OcirunEnv env;
  env.SetScript("sleep 60");
  std::string id = env.RunDetached();
  REQUIRE(env.Ocirun({"pause", id}).exit_code == 0);
  ProcessResult paused = env.Ocirun({"exec", id, "true"});
  CHECK(paused.exit_code == 1);
  CHECK(paused.err == "ocirun: cannot exec in a paused container\n");
  REQUIRE(env.Ocirun({"resume", id}).exit_code == 0);
  REQUIRE(env.Ocirun({"kill", id, "KILL"}).exit_code == 0);
  REQUIRE(ocirun_test::Eventually([&] { return env.State(id)["status"] == "stopped"; }));
  ProcessResult stopped = env.Ocirun({"exec", id, "true"});
  CHECK(stopped.err == "ocirun: cannot exec in a stopped container\n");
}
