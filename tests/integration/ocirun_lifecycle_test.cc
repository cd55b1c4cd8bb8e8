// The lifecycle commands of the built `ocirun` binary, driven as containerd
// and users drive runc: run, create/start, state, kill, delete, list, ps,
// pause/resume, update, events and the --console-socket protocol. Each case
// asserts what the container or the host observes, and what runc 1.1.5
// prints for the same bundle.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>  // sleep_for
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"
#include "tests/integration/ocirun_test_util.h"

namespace {

using namespace ocirun_test;
using nlohmann::json;

// A bind mount of a fresh host directory at `dest`, for markers the
// container writes and the test reads.
std::string BindHostDir(OcirunEnv& env, const std::string& name, const std::string& dest) {
  std::string dir = env.MakeDir(name);
  env.config()["mounts"].push_back(
      {{"destination", dest}, {"type", "bind"}, {"source", dir}, {"options", {"rbind", "rw"}}});
  return dir;
}

void DropNamespace(OcirunEnv& env, const std::string& type) {
  auto& ns = env.config()["linux"]["namespaces"];
  ns.erase(std::remove_if(ns.begin(), ns.end(), [&](const json& n) { return n["type"] == type; }),
           ns.end());
}

std::vector<pid_t> PsJson(OcirunEnv& env, const std::string& id) {
  auto r = env.Ocirun({"ps", "--format", "json", id});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json pids = json::parse(r.out);
  if (pids.is_null()) return {};  // runc prints an empty list as null
  return pids.get<std::vector<pid_t>>();
}

std::string Status(OcirunEnv& env, const std::string& id) {
  return env.State(id)["status"].get<std::string>();
}

}  // namespace

TEST_CASE("run prints the container's output and returns its exit code", "[ocirun][run]") {
  OcirunEnv env;
  env.SetScript("echo hello from $(hostname); echo to stderr >&2; exit 3");
  auto r = env.Run();
  CHECK(r.out == "hello from runc\n");
  CHECK(r.err == "to stderr\n");
  CHECK(r.exit_code == 3);
  // Without --keep the stopped container is deleted.
  CHECK(env.Ocirun({"list", "-q"}).out.empty());
}

TEST_CASE("run returns 128+N when the container's process dies of signal N", "[ocirun][run]") {
  OcirunEnv env;
  SECTION("without a pid namespace, sh -c 'kill -9 $$' gives 137") {
    DropNamespace(env, "pid");
    env.SetScript("kill -9 $$");
    CHECK(env.Run().exit_code == 137);
  }
  SECTION(
      "as pid 1 of its own pid namespace, the init ignores a SIGKILL it sends itself (runc: 0)") {
    env.SetScript("kill -9 $$; echo survived");
    auto r = env.Run();
    CHECK(r.out == "survived\n");
    CHECK(r.exit_code == 0);
  }
  SECTION("killed from the host with SIGKILL, run returns 137") {
    env.SetScript("exec sleep 1000");
    std::string id = env.NewId();
    env.Save();
    Subprocess run({Runtime(), "--root", env.root(), "run", "--bundle", env.bundle(), id});
    REQUIRE(Eventually([&] {
      auto s = env.Ocirun({"state", id});
      return s.exit_code == 0 && json::parse(s.out)["status"] == "running";
    }));
    CHECK(env.Ocirun({"kill", id, "KILL"}).exit_code == 0);
    CHECK(run.Finish().exit_code == 137);
  }
}

TEST_CASE("run connects the container to its stdin and forwards the signals it gets",
          "[ocirun][run]") {
  OcirunEnv env;
  SECTION("stdin") {
    env.SetScript("tr a-z A-Z");
    env.Save();
    auto r = env.Ocirun({"run", "--bundle", env.bundle(), env.NewId()}, "piped input\n");
    CHECK(r.out == "PIPED INPUT\n");
    CHECK(r.exit_code == 0);
  }
  SECTION("signals") {
    std::string marks = BindHostDir(env, "marks", "/marks");
    env.SetScript(
        "trap 'echo got TERM; exit 42' TERM; touch /marks/ready; "
        "while true; do sleep 0.05; done");
    std::string id = env.NewId();
    env.Save();
    Subprocess run({Runtime(), "--root", env.root(), "run", "--bundle", env.bundle(), id});
    REQUIRE(Eventually([&] { return Exists(marks + "/ready"); }));
    ::kill(run.pid(), SIGTERM);
    auto r = run.Finish();
    CHECK(r.out == "got TERM\n");
    CHECK(r.exit_code == 42);
  }
}

TEST_CASE("--preserve-fds passes extra descriptors; no other descriptor of the caller gets in",
          "[ocirun][create]") {
  OcirunEnv env;
  WriteFile(env.dir() + "/three", "through fd 3\n");
  WriteFile(env.dir() + "/five", "through fd 5\n");
  env.SetScript("cat <&3; cat <&5 || echo no fd 5");
  env.Save();
  // bash opens the files without close-on-exec, as a caller handing them over would.
  std::string cmd = absl::StrCat("exec 3<", env.dir(), "/three 5<", env.dir(), "/five; exec ",
                                 Runtime(), " --root ", env.root(),
                                 " run --preserve-fds 1 --bundle ", env.bundle(), " ", env.NewId());
  auto r = RunProcess({"/bin/bash", "-c", cmd});
  CHECK(r.out == "through fd 3\nno fd 5\n");
  CHECK(absl::StrContains(r.err, "5"));
  CHECK(r.exit_code == 0);
}

TEST_CASE("create --no-pivot moves the rootfs onto / instead of pivoting", "[ocirun][create]") {
  OcirunEnv env;
  env.SetScript("hostname; head -1 /etc/passwd; awk '$5 == \"/\"' /proc/self/mountinfo | wc -l");
  env.Save();
  auto r = env.Ocirun({"run", "--no-pivot", "--bundle", env.bundle(), env.NewId()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "runc\nroot:x:0:0:root:/root:/bin/sh\n1\n");
}

TEST_CASE("run --keep leaves the stopped container for state and delete", "[ocirun][run]") {
  OcirunEnv env;
  env.SetScript("true");
  env.Save();
  std::string id = env.NewId();
  auto r = env.Ocirun({"run", "--keep", "--bundle", env.bundle(), id});
  REQUIRE(r.exit_code == 0);
  json state = env.State(id);
  CHECK(state["status"] == "stopped");
  CHECK(state["pid"] == 0);
  CHECK(env.Ocirun({"delete", id}).exit_code == 0);
  CHECK_FALSE(Exists(env.root() + "/" + id));
}

TEST_CASE("run -d leaves the container running until kill; delete then removes it",
          "[ocirun][run][kill][delete]") {
  OcirunEnv env;
  env.SetScript("exec sleep 1000");
  std::string id = env.RunDetached();
  json state = env.State(id);
  CHECK(state["status"] == "running");
  pid_t pid = state["pid"].get<pid_t>();
  CHECK(ProcessAlive(pid));

  REQUIRE(env.Ocirun({"kill", id, "KILL"}).exit_code == 0);
  CHECK(Eventually([&] { return Status(env, id) == "stopped"; }));
  CHECK(env.State(id)["pid"] == 0);

  REQUIRE(env.Ocirun({"delete", id}).exit_code == 0);
  auto gone = env.Ocirun({"state", id});
  CHECK(gone.exit_code == 1);
  CHECK(absl::StrContains(gone.err, "does not exist"));
  CHECK_FALSE(Exists(env.root() + "/" + id));
}

TEST_CASE("create prepares the container without running its program; start runs it",
          "[ocirun][create][start]") {
  OcirunEnv env;
  std::string marks = BindHostDir(env, "marks", "/marks");
  env.config()["annotations"] = {{"org.example.itest", "yes"}};
  env.SetScript("touch /marks/started; exec sleep 1000");
  std::string pid_file = env.dir() + "/init.pid";
  std::string id = env.Create({"--pid-file", pid_file});

  json state = env.State(id);
  for (const char* field :
       {"ociVersion", "id", "status", "pid", "bundle", "rootfs", "created", "owner"}) {
    INFO(field);
    CHECK(state.contains(field));
  }
  CHECK(state["ociVersion"] == "1.0.2-dev");  // runc 1.1.5's runtime-spec version
  CHECK(state["id"] == id);
  CHECK(state["status"] == "created");
  CHECK(state["bundle"] == env.bundle());
  CHECK(state["rootfs"] == env.bundle() + "/rootfs");
  CHECK(state["owner"] == "");
  CHECK(absl::EndsWith(state["created"].get<std::string>(), "Z"));
  CHECK(state["annotations"] == json{{"org.example.itest", "yes"}});
  pid_t pid = state["pid"].get<pid_t>();
  REQUIRE(pid > 0);
  CHECK(ProcessAlive(pid));
  CHECK(Trim(ReadFile(pid_file).value_or("")) == std::to_string(pid));

  // The init waits for start: give it every chance to run early.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(Exists(marks + "/started"));

  auto started = env.Ocirun({"start", id});
  INFO(started.err);
  REQUIRE(started.exit_code == 0);
  CHECK(Eventually([&] { return Exists(marks + "/started"); }));
  CHECK(Status(env, id) == "running");
  CHECK(env.Pid(id) == pid);  // the init exec'd the program: same process

  auto again = env.Ocirun({"start", id});
  CHECK(again.exit_code == 1);
  CHECK(absl::StartsWith(again.err, "ocirun: "));
}

TEST_CASE("delete refuses a running container unless forced, then removes every trace",
          "[ocirun][delete]") {
  OcirunEnv env;
  env.SetScript("exec sleep 1000");
  std::string id = env.RunDetached();
  pid_t pid = env.Pid(id);
  std::vector<std::string> cgroups;
  for (const char* c : {"memory", "pids", "cpu", "freezer", "devices", ""})
    cgroups.push_back(HostCgroupDir(pid, c));
  for (const auto& cg : cgroups) {
    INFO(cg);
    CHECK(absl::EndsWith(cg, "/" + id));
    CHECK(Exists(cg));
  }

  auto refused = env.Ocirun({"delete", id});
  CHECK(refused.exit_code == 1);
  // runc: "cannot delete container ID that is not stopped: running"
  CHECK(refused.err ==
        absl::StrCat("ocirun: cannot delete container ", id, " that is not stopped: running\n"));
  CHECK(Status(env, id) == "running");

  auto forced = env.Ocirun({"delete", "--force", id});
  INFO(forced.err);
  REQUIRE(forced.exit_code == 0);
  CHECK_FALSE(Exists(env.root() + "/" + id));
  for (const auto& cg : cgroups) {
    INFO(cg);
    CHECK_FALSE(Exists(cg));
  }
  CHECK(ExistingCgroupDirs(id).empty());
  CHECK(Eventually([&] { return !ProcessAlive(pid); }));
}

TEST_CASE("delete of a created container kills its waiting init", "[ocirun][delete]") {
  OcirunEnv env;
  env.SetScript("exec sleep 1000");
  std::string id = env.Create();
  pid_t pid = env.Pid(id);
  CHECK(env.Ocirun({"delete", id}).exit_code == 0);
  CHECK(Eventually([&] { return !ProcessAlive(pid); }));
  CHECK(ExistingCgroupDirs(id).empty());
  CHECK_FALSE(Exists(env.root() + "/" + id));
}

TEST_CASE("delete of a stopped container without its own pid namespace kills what is left",
          "[ocirun][delete]") {
  OcirunEnv env;
  DropNamespace(env, "pid");
  env.SetScript("sleep 1000 & exec sleep 1001");
  std::string id = env.RunDetached();
  REQUIRE(Eventually([&] { return PsJson(env, id).size() == 2; }));
  REQUIRE(env.Ocirun({"kill", id, "KILL"}).exit_code == 0);
  REQUIRE(Eventually([&] { return Status(env, id) == "stopped"; }));
  std::vector<pid_t> left = PsJson(env, id);
  REQUIRE(left.size() == 1);

  CHECK(env.Ocirun({"delete", id}).exit_code == 0);  // runc: no --force needed when stopped
  CHECK(Eventually([&] { return !ProcessAlive(left[0]); }));
  CHECK(ExistingCgroupDirs(id).empty());
}

TEST_CASE("kill sends signals given by name or number", "[ocirun][kill]") {
  OcirunEnv env;
  std::string marks = BindHostDir(env, "marks", "/marks");
  // pid 1 only sees signals it handles: trap them and log each.
  env.SetScript(
      "trap 'echo TERM >> /marks/log' TERM; trap 'echo USR1 >> /marks/log' USR1; "
      "touch /marks/ready; while true; do sleep 0.05; done");
  std::string id = env.RunDetached();
  REQUIRE(Eventually([&] { return Exists(marks + "/ready"); }));
  auto log_is = [&](const std::string& want) {
    return Eventually([&] { return ReadFile(marks + "/log").value_or("") == want; });
  };

  CHECK(env.Ocirun({"kill", id, "SIGTERM"}).exit_code == 0);
  CHECK(log_is("TERM\n"));
  CHECK(env.Ocirun({"kill", id, "USR1"}).exit_code == 0);
  CHECK(log_is("TERM\nUSR1\n"));
  CHECK(env.Ocirun({"kill", id, "10"}).exit_code == 0);  // SIGUSR1
  CHECK(log_is("TERM\nUSR1\nUSR1\n"));
  CHECK(env.Ocirun({"kill", id}).exit_code == 0);  // SIGTERM by default
  CHECK(log_is("TERM\nUSR1\nUSR1\nTERM\n"));

  auto bad = env.Ocirun({"kill", id, "SIGNOPE"});
  CHECK(bad.exit_code == 1);
  CHECK(absl::StrContains(bad.err, "SIGNOPE"));

  CHECK(env.Ocirun({"kill", id, "9"}).exit_code == 0);
  CHECK(Eventually([&] { return Status(env, id) == "stopped"; }));
  // runc: "container not running"
  auto stopped = env.Ocirun({"kill", id, "KILL"});
  CHECK(stopped.exit_code == 1);
  CHECK(stopped.err == "ocirun: container not running\n");
}

TEST_CASE("kill signals only the init; kill --all signals every process of the container",
          "[ocirun][kill]") {
  OcirunEnv env;
  // Without its own pid namespace, the init's death does not take the rest along.
  DropNamespace(env, "pid");
  env.SetScript("sleep 1000 & sleep 1000 & exec sleep 1001");
  std::string id = env.RunDetached();
  pid_t init = env.Pid(id);
  REQUIRE(Eventually([&] { return PsJson(env, id).size() == 3; }));

  REQUIRE(env.Ocirun({"kill", id, "KILL"}).exit_code == 0);
  CHECK(Eventually([&] { return Status(env, id) == "stopped"; }));
  std::vector<pid_t> left = PsJson(env, id);
  CHECK(left.size() == 2);
  CHECK(std::find(left.begin(), left.end(), init) == left.end());

  auto all = env.Ocirun({"kill", "--all", id, "KILL"});
  INFO(all.err);
  CHECK(all.exit_code == 0);
  CHECK(Eventually([&] { return PsJson(env, id).empty(); }));
  for (pid_t p : left) CHECK(Eventually([&] { return !ProcessAlive(p); }));
  CHECK(env.Ocirun({"delete", id}).exit_code == 0);
  CHECK(ExistingCgroupDirs(id).empty());
}

TEST_CASE("list shows containers as a table, as JSON and as bare ids", "[ocirun][list]") {
  OcirunEnv env;
  env.SetScript("exec sleep 1000");
  std::string created = env.Create();
  std::string running = env.RunDetached();
  std::vector<std::string> ids = {created, running};
  std::sort(ids.begin(), ids.end());

  auto quiet = env.Ocirun({"list", "-q"});
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.out == absl::StrCat(ids[0], "\n", ids[1], "\n"));

  auto as_json = env.Ocirun({"list", "--format", "json"});
  REQUIRE(as_json.exit_code == 0);
  json list = json::parse(as_json.out);
  REQUIRE(list.is_array());
  REQUIRE(list.size() == 2);
  for (const auto& c : list) {
    std::string id = c["id"];
    INFO(id);
    CHECK(c["status"] == (id == created ? "created" : "running"));
    CHECK(c["pid"] == env.Pid(id));
    CHECK(c["bundle"] == env.bundle());
    CHECK(c["owner"] == "root");  // as runc's list
  }

  auto table = env.Ocirun({"list"});
  REQUIRE(table.exit_code == 0);
  std::vector<std::string> lines = absl::StrSplit(table.out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 3);
  std::vector<std::string> header = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  CHECK(header == std::vector<std::string>{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"});
  // Columns line up as Go's tabwriter does: each value starts under its header.
  size_t status_col = lines[0].find("STATUS");
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    REQUIRE(f.size() == 6);
    CHECK(f[0] == ids[i - 1]);
    CHECK(f[1] == std::to_string(env.Pid(f[0])));
    CHECK(f[2] == (f[0] == created ? "created" : "running"));
    CHECK(lines[i].substr(status_col, f[2].size()) == f[2]);
    CHECK(f[3] == env.bundle());
    CHECK(f[5] == "root");
  }
}

TEST_CASE("ps lists the container's processes", "[ocirun][ps]") {
  OcirunEnv env;
  env.SetScript("exec sleep 1000");
  std::string id = env.RunDetached();
  pid_t pid = env.Pid(id);

  CHECK(PsJson(env, id) == std::vector<pid_t>{pid});

  auto table = env.Ocirun({"ps", id});
  REQUIRE(table.exit_code == 0);
  std::vector<std::string> lines = absl::StrSplit(table.out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 2);
  std::vector<std::string> header = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  CHECK(std::find(header.begin(), header.end(), "PID") != header.end());
  CHECK(absl::StrContains(lines[1], absl::StrCat(" ", pid, " ")));
  CHECK(absl::StrContains(lines[1], "sleep 1000"));

  SECTION("arguments after the id go to ps in their order (runc: ps ID -o pid,comm)") {
    auto custom = env.Ocirun({"ps", id, "-o", "pid,comm"});
    INFO(custom.err);
    REQUIRE(custom.exit_code == 0);
    std::vector<std::string> l = absl::StrSplit(custom.out, '\n', absl::SkipEmpty());
    REQUIRE(l.size() == 2);
    CHECK(std::vector<std::string>(absl::StrSplit(l[0], ' ', absl::SkipEmpty())) ==
          std::vector<std::string>{"PID", "COMMAND"});
    CHECK(std::vector<std::string>(absl::StrSplit(l[1], ' ', absl::SkipEmpty())) ==
          std::vector<std::string>{std::to_string(pid), "sleep"});
  }
}

TEST_CASE("pause freezes the container and resume thaws it", "[ocirun][pause]") {
  OcirunEnv env;
  env.SetScript("exec sleep 1000");

  SECTION("a running container") {
    std::string id = env.RunDetached();
    std::string freezer = HostCgroupDir(env.Pid(id), "freezer");
    REQUIRE(absl::EndsWith(freezer, "/" + id));
    CHECK(Trim(ReadFile(freezer + "/freezer.state").value_or("")) == "THAWED");

    REQUIRE(env.Ocirun({"pause", id}).exit_code == 0);
    CHECK(Status(env, id) == "paused");
    CHECK(Trim(ReadFile(freezer + "/freezer.state").value_or("")) == "FROZEN");
    auto twice = env.Ocirun({"pause", id});
    CHECK(twice.exit_code == 1);

    auto refused = env.Ocirun({"delete", id});
    CHECK(refused.exit_code == 1);
    CHECK(absl::StrContains(refused.err, "not stopped: paused"));

    REQUIRE(env.Ocirun({"resume", id}).exit_code == 0);
    CHECK(Status(env, id) == "running");
    CHECK(Trim(ReadFile(freezer + "/freezer.state").value_or("")) == "THAWED");
    CHECK(env.Ocirun({"resume", id}).exit_code == 1);
  }

  SECTION("a created container (runc: paused, and start is refused until resume)") {
    std::string marks = BindHostDir(env, "marks", "/marks");
    env.SetScript("touch /marks/started; exec sleep 1000");
    std::string id = env.Create();
    REQUIRE(env.Ocirun({"pause", id}).exit_code == 0);
    CHECK(Status(env, id) == "paused");
    CHECK(env.Ocirun({"start", id}).exit_code == 1);  // and does not hang on the frozen init
    REQUIRE(env.Ocirun({"resume", id}).exit_code == 0);
    CHECK(Status(env, id) == "created");
    REQUIRE(env.Ocirun({"start", id}).exit_code == 0);
    CHECK(Eventually([&] { return Exists(marks + "/started"); }));
    CHECK(Status(env, id) == "running");
  }

  SECTION("a paused container can be deleted with --force") {
    std::string id = env.RunDetached();
    pid_t pid = env.Pid(id);
    REQUIRE(env.Ocirun({"pause", id}).exit_code == 0);
    CHECK(env.Ocirun({"delete", "--force", id}).exit_code == 0);
    CHECK(Eventually([&] { return !ProcessAlive(pid); }));
    CHECK(ExistingCgroupDirs(id).empty());
  }
}

TEST_CASE("update changes the container's cgroup files on the host", "[ocirun][update]") {
  OcirunEnv env;
  env.SetScript("exec sleep 1000");
  std::string id = env.RunDetached();
  pid_t pid = env.Pid(id);
  std::string memory = HostCgroupDir(pid, "memory");
  std::string pids = HostCgroupDir(pid, "pids");
  std::string cpu = HostCgroupDir(pid, "cpu");
  auto knob = [](const std::string& dir, const char* file) {
    return Trim(ReadFile(dir + "/" + file).value_or("<missing>"));
  };

  SECTION("from flags") {
    auto r = env.Ocirun({"update", "--memory", "67108864", "--pids-limit", "42", "--cpu-quota",
                         "50000", "--cpu-period", "100000", id});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(knob(memory, "memory.limit_in_bytes") == "67108864");
    CHECK(knob(pids, "pids.max") == "42");
    CHECK(knob(cpu, "cpu.cfs_quota_us") == "50000");
    CHECK(knob(cpu, "cpu.cfs_period_us") == "100000");
  }

  SECTION("from a linux.resources file (-r FILE), and from stdin (-r -)") {
    std::string file = env.dir() + "/resources.json";
    WriteFile(file, R"({"memory": {"limit": 33554432}, "pids": {"limit": 7},
                        "cpu": {"quota": 20000, "period": 100000}})");
    auto r = env.Ocirun({"update", "-r", file, id});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(knob(memory, "memory.limit_in_bytes") == "33554432");
    CHECK(knob(pids, "pids.max") == "7");
    CHECK(knob(cpu, "cpu.cfs_quota_us") == "20000");

    auto from_stdin = env.Ocirun({"update", "-r", "-", id}, R"({"pids": {"limit": 9}})");
    INFO(from_stdin.err);
    REQUIRE(from_stdin.exit_code == 0);
    CHECK(knob(pids, "pids.max") == "9");
    CHECK(knob(memory, "memory.limit_in_bytes") == "33554432");  // untouched
  }

  SECTION("a malformed resources file names the file and the field") {
    std::string file = env.dir() + "/bad.json";
    WriteFile(file, R"({"pids": {"limit": "many"}})");
    auto r = env.Ocirun({"update", "-r", file, id});
    CHECK(r.exit_code == 1);
    CHECK(absl::StrContains(r.err, "pids.limit"));
    CHECK(absl::StrContains(r.err, "bad.json"));
  }
}

TEST_CASE("events --stats prints one stats event as JSON", "[ocirun][events]") {
  OcirunEnv env;
  env.config()["linux"]["resources"]["pids"] = {{"limit", 50}};
  env.SetScript("exec sleep 1000");
  std::string id = env.RunDetached();
  auto r = env.Ocirun({"events", "--stats", id});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 1);
  json event = json::parse(lines[0]);
  CHECK(event["type"] == "stats");
  CHECK(event["id"] == id);
  REQUIRE(event["data"].contains("memory"));
  CHECK(event["data"]["memory"]["usage"]["usage"].get<uint64_t>() > 0);
  REQUIRE(event["data"].contains("pids"));
  CHECK(event["data"]["pids"]["current"] == 1);
  CHECK(event["data"]["pids"]["limit"] == 50);
}

TEST_CASE("events reports an OOM kill and stats until the container stops", "[ocirun][events]") {
  OcirunEnv env;
  env.config()["linux"]["resources"]["memory"] = {{"limit", 16 * 1024 * 1024}};
  // dd's 32 MiB buffer cannot fit in 16 MiB: the kernel's OOM killer ends it.
  env.SetScript("sleep 0.5; dd if=/dev/zero of=/dev/null bs=32M count=1 2>/dev/null; sleep 2");
  std::string id = env.RunDetached();
  ocirun_test::Subprocess events(
      {ocirun_test::Runtime(), "--root", env.root(), "events", "--interval", "10s", id});
  auto r = events.Finish(std::chrono::seconds(15));
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() >= 2);
  CHECK(json::parse(lines[0])["type"] == "stats");
  CHECK(lines[1] == absl::StrCat(R"({"type":"oom","id":")", id, R"("})"));
  // When the container is gone, events ends with an error, as runc's does.
  CHECK(r.exit_code == 1);
}

TEST_CASE("a terminal container sends its pty master to --console-socket", "[ocirun][console]") {
  OcirunEnv env;
  std::string socket_path = env.dir() + "/console.sock";
  auto listener = gantry::ListenUnixSocket(socket_path);
  REQUIRE(listener.ok());
  env.config()["process"]["terminal"] = true;
  env.SetScript("tty; echo hello from the pty");
  std::string id = env.Create({"--console-socket", socket_path});

  // create has connected and sent the master before returning: it waits in the backlog.
  struct pollfd pfd {
    listener->get(), POLLIN, 0
  };
  REQUIRE(::poll(&pfd, 1, 5000) == 1);
  gantry::UniqueFd conn(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(conn.valid());
  auto received = gantry::RecvFd(conn.get());
  REQUIRE(received.ok());

  REQUIRE(env.Ocirun({"start", id}).exit_code == 0);
  std::string output;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!absl::StrContains(output, "hello from the pty") &&
         std::chrono::steady_clock::now() < deadline) {
    struct pollfd p {
      received->fd.get(), POLLIN, 0
    };
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    ssize_t n = ::read(received->fd.get(), buf, sizeof buf);
    if (n <= 0) break;  // EIO once the last slave closes
    output.append(buf, static_cast<size_t>(n));
  }
  CHECK(output == "/dev/pts/0\r\nhello from the pty\r\n");
  CHECK(Eventually([&] { return Status(env, id) == "stopped"; }));
}

TEST_CASE("terminal and --console-socket must come together", "[ocirun][console]") {
  OcirunEnv env;
  SECTION("terminal without a socket") {
    env.config()["process"]["terminal"] = true;
    env.Save();
    std::string id = env.NewId();
    auto r = env.Ocirun({"create", "--bundle", env.bundle(), id});
    CHECK(r.exit_code == 1);
    CHECK(absl::StrContains(r.err, "process.terminal"));
    CHECK_FALSE(Exists(env.root() + "/" + id));
  }
  SECTION("a socket without terminal") {
    env.Save();
    std::string id = env.NewId();
    auto r = env.Ocirun(
        {"create", "--console-socket", env.dir() + "/none.sock", "--bundle", env.bundle(), id});
    CHECK(r.exit_code == 1);
    CHECK(absl::StrContains(r.err, "--console-socket"));
    CHECK_FALSE(Exists(env.root() + "/" + id));
  }
}

TEST_CASE("spec writes runc's config.json byte for byte; features describes the runtime",
          "[ocirun][spec]") {
  OcirunEnv env;
  const char* runc = "/usr/sbin/runc";
  for (bool rootless : {false, true}) {
    DYNAMIC_SECTION((rootless ? "spec --rootless" : "spec")) {
      std::string ours = env.MakeDir("ours"), theirs = env.MakeDir("theirs");
      std::vector<std::string> args = {"spec", "--bundle", ours};
      if (rootless) args.push_back("--rootless");
      REQUIRE(env.Ocirun(args).exit_code == 0);
      auto written = ReadFile(ours + "/config.json");
      REQUIRE(written);
      CHECK(json::parse(*written)["ociVersion"] == "1.0.2-dev");
      if (::access(runc, X_OK) == 0) {
        std::vector<std::string> runc_args = {runc, "spec", "--bundle", theirs};
        if (rootless) runc_args.push_back("--rootless");
        REQUIRE(RunProcess(runc_args).exit_code == 0);
        CHECK(*written == ReadFile(theirs + "/config.json"));
      } else {
        WARN("runc is not installed: not compared with runc spec");
      }
      auto again = env.Ocirun(args);  // runc: "File config.json exists. Remove it first"
      CHECK(again.exit_code == 1);
      CHECK(again.err == "ocirun: File config.json exists. Remove it first\n");
    }
  }
  SECTION("features") {
    auto r = env.Ocirun({"features"});
    REQUIRE(r.exit_code == 0);
    json f = json::parse(r.out);
    CHECK(f["ociVersionMax"] == "1.0.2-dev");
    auto namespaces = f["linux"]["namespaces"].get<std::vector<std::string>>();
    for (const char* ns : {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}) {
      INFO(ns);
      CHECK(std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end());
    }
    CHECK(f["linux"]["cgroup"]["v1"] == true);
  }
}
