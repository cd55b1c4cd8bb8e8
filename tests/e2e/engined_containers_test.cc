// The everyday container scenario through engined (and the contd it starts)
// with the real docker CLI: pull from Debian's docker-registry on loopback,
// run with env/workdir/stdin/TTY/exit codes, detached runs, ps, logs,
// inspect, top, pause, stop, restart policies, rm, and errors; then an
// engined killed with SIGKILL leaves its containers running and managed.
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/e2e/engined_process.h"
#include "tests/integration/registry_test_util.h"
#include "tests/temp_dir.h"

namespace {

using engined_test::Describe;
using engined_test::Engined;
using engined_test::Eventually;
using engined_test::MountsUnder;
using engined_test::Registry;
using ocirun_test::ProcessResult;

using Cli = engined_test::DockerCli;

}  // namespace

TEST_CASE("the docker CLI pulls and runs containers through engined", "[docker][containers]") {
  Registry registry;
  Engined engined;
  Cli docker(engined);
  const std::string image = registry.image();

  SECTION("pull, images, inspect") {
    ProcessResult pull = docker({"pull", image});
    INFO(Describe(pull));
    REQUIRE(pull.exit_code == 0);
    CHECK(absl::StrContains(pull.out, "Pull complete"));
    CHECK(absl::StrContains(pull.out, "Status: Downloaded newer image for " + image + ":latest"));
    CHECK(absl::StrContains(docker.Ok({"pull", image}), "Image is up to date"));
    const std::string images = docker.Ok({"images", "--format", "{{.Repository}}:{{.Tag}}"});
    CHECK(images == image + ":latest");
    CHECK(docker.Ok({"image", "inspect", "-f", "{{.Os}}/{{.Architecture}} {{len .RootFS.Layers}}",
                     image}) == "linux/amd64 2");
  }

  SECTION("run: output, exit codes, env, workdir, stdin, tty, --rm") {
    // Not pulled yet: the CLI pulls on "No such image".
    ProcessResult hello = docker({"run", "--rm", image, "echo", "hello"});
    INFO(Describe(hello));
    CHECK(hello.exit_code == 0);
    CHECK(absl::StrContains(hello.err, "Unable to find image"));
    CHECK(hello.out == "hello\n");
    CHECK(docker({"run", "--rm", image, "sh", "-c", "exit 3"}).exit_code == 3);
    CHECK(docker.Ok({"run", "--rm", "-e", "FOO=bar", "-w", "/tmp", image, "sh", "-c",
                     "echo $FOO; pwd; hostname | wc -c"}) == "bar\n/tmp\n13");
    CHECK(docker.Ok({"run", "--rm", "-i", image, "tr", "a-z", "A-Z"}, "quiet input\n") ==
          "QUIET INPUT");
    ProcessResult errors = docker({"run", "--rm", image, "sh", "-c", "echo out; echo err >&2"});
    CHECK(errors.out == "out\n");
    CHECK(errors.err == "err\n");
    CHECK(docker.Ok({"run", "--rm", "-t", image, "tty"}) == "/dev/pts/0");
    // Users by name, from the image's own /etc/passwd and /etc/group.
    CHECK(docker.Ok({"run", "--rm", "-u", "gantry", image, "sh", "-c", "id -u; id -g"}) ==
          "1000\n1000");
    CHECK(docker.Ok({"run", "--rm", "-u", "nobody:tty", image, "sh", "-c", "id -u; id -g"}) ==
          "65534\n5");
    ProcessResult ghost = docker({"run", "--rm", "-u", "ghost", image, "true"});
    CHECK(ghost.exit_code != 0);
    CHECK(absl::StrContains(ghost.err, "unable to find user ghost"));
    // --init: tini is PID 1 and the command its child.
    const std::string ps = docker.Ok({"run", "--rm", "--init", image, "ps", "-o", "pid,args"});
    CHECK(absl::StrContains(ps, "    1 /sbin/docker-init -- ps -o pid,args"));
    // Healthchecks: a passing probe makes it healthy, a failing one
    // unhealthy after its retries, both shown by ps and inspect.
    docker.Ok({"run", "-d", "--name", "fine", "--health-cmd", "true", "--health-interval", "1s",
               image, "sleep", "60"});
    docker.Ok({"run", "-d", "--name", "sick", "--health-cmd", "echo no; exit 1",
               "--health-interval", "1s", "--health-retries", "2", image, "sleep", "60"});
    CHECK(absl::StrContains(docker.Ok({"ps", "--filter", "name=fine", "--format", "{{.Status}}"}),
                            "(health: starting)"));
    CHECK(Eventually([&] {
      return docker.Ok({"inspect", "-f", "{{.State.Health.Status}}", "fine"}) == "healthy";
    }));
    CHECK(Eventually([&] {
      return docker.Ok({"inspect", "-f", "{{.State.Health.Status}}", "sick"}) == "unhealthy";
    }));
    CHECK(docker.Ok({"inspect", "-f",
                     "{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).Output}}",
                     "sick"}) == "2 no");
    CHECK(absl::StrContains(docker.Ok({"ps", "--filter", "name=sick", "--format", "{{.Status}}"}),
                            "(unhealthy)"));
    // A probe past its timeout counts as a failure, and is killed.
    docker.Ok({"run", "-d", "--name", "slow", "--health-cmd", "sleep 30", "--health-interval", "1s",
               "--health-timeout", "1s", "--health-retries", "1", image, "sleep", "60"});
    CHECK(Eventually([&] {
      return docker.Ok({"inspect", "-f", "{{.State.Health.Status}}", "slow"}) == "unhealthy";
    }));
    CHECK(absl::StrContains(
        docker.Ok({"inspect", "-f", "{{(index .State.Health.Log 0).Output}}", "slow"}),
        "Health check exceeded timeout (1s)"));
    CHECK(Eventually([&] {
      return docker.Ok({"top", "slow"}).find("sleep 30") == std::string::npos;
    }));
    docker.Ok({"rm", "-f", "fine", "sick", "slow"});
    // A foreground run attaches before it starts: dockerd's event order.
    const std::string since = std::to_string(::time(nullptr));
    docker.Ok({"run", "--name", "att", image, "true"});
    const std::string until = std::to_string(::time(nullptr) + 1);
    CHECK(docker.Ok({"events", "--since", since, "--until", until, "--filter", "container=att",
                     "--format", "{{.Action}}"}) == "create\nattach\nstart\ndie");
    docker.Ok({"rm", "att"});
    // A --rm container that cannot start is removed, and run returns.
    ProcessResult missing = docker({"run", "--rm", image, "/no/such/program"});
    CHECK(missing.exit_code == 127);
    CHECK(docker.Ok({"ps", "-aq"}).empty());
  }

  SECTION("detached containers: ps, logs, inspect, top, pause, stop, rm") {
    docker.Ok({"pull", "-q", image});
    const std::string id = docker.Ok(
        {"run", "-d", "--name", "web", image, "sh", "-c", "echo started; exec sleep 300"});
    CHECK(id.size() == 64);
    CHECK(docker.Ok({"ps", "--no-trunc", "--format", "{{.Names}} {{.Image}} {{.Command}}"}) ==
          "web " + image + " \"sh -c echo started; exec sleep 300\"");
    CHECK(absl::StartsWith(docker.Ok({"ps", "--filter", "name=web", "--format", "{{.Status}}"}),
                           "Up "));
    CHECK(Eventually([&] { return docker.Ok({"logs", "web"}) == "started"; }));
    CHECK(docker.Ok({"inspect", "-f", "{{.State.Running}} {{.Config.Hostname}} {{.Name}}",
                     "web"}) == "true " + id.substr(0, 12) + " /web");
    CHECK(absl::StrContains(docker.Ok({"top", "web"}), "sleep 300"));
    docker.Ok({"pause", id.substr(0, 8)});
    CHECK(docker.Ok({"inspect", "-f", "{{.State.Status}}", "web"}) == "paused");
    docker.Ok({"unpause", "web"});
    ProcessResult busy = docker({"rm", "web"});
    CHECK(busy.exit_code != 0);
    CHECK(absl::StrContains(busy.err, "Stop the container before attempting removal"));
    docker.Ok({"stop", "-t", "1", "web"});
    CHECK(docker.Ok({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web"}) ==
          "exited 137");
    CHECK(docker.Ok({"ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"}) == "web");
    docker.Ok({"rename", "web", "web2"});
    docker.Ok({"rm", "web2"});
    CHECK(docker.Ok({"ps", "-aq"}).empty());
    ProcessResult gone = docker({"inspect", "web2"});
    CHECK(gone.exit_code != 0);
    CHECK(absl::StrContains(gone.err, "No such object: web2"));
  }

  SECTION("exec: output, exit codes, env, workdir, stdin, tty, detached, errors") {
    docker.Ok({"pull", "-q", image});
    docker.Ok({"run", "-d", "--name", "box", image, "sleep", "300"});
    CHECK(docker.Ok({"exec", "box", "echo", "hi"}) == "hi");
    ProcessResult code = docker({"exec", "-e", "A=b", "-w", "/tmp", "box", "sh", "-c",
                                 "echo $A; pwd; echo oops >&2; exit 4"});
    CHECK(code.exit_code == 4);
    CHECK(code.out == "b\n/tmp\n");
    CHECK(code.err == "oops\n");
    CHECK(docker.Ok({"exec", "-i", "box", "cat"}, "piped\n") == "piped");
    CHECK(docker.Ok({"exec", "-t", "box", "tty"}) == "/dev/pts/0");
    docker.Ok({"exec", "-d", "box", "sh", "-c", "echo detached > /tmp/d"});
    CHECK(Eventually([&] { return docker({"exec", "box", "cat", "/tmp/d"}).out == "detached\n"; }));
    ProcessResult missing = docker({"exec", "box", "nosuchcmd"});
    CHECK(missing.exit_code == 126);
    CHECK(absl::StrContains(missing.err, "nosuchcmd"));
    docker.Ok({"rm", "-f", "box"});
    ProcessResult stopped = docker({"exec", "box", "true"});
    CHECK(absl::StrContains(stopped.err, "No such container: box"));
  }

  SECTION("logs (follow, tail, timestamps), stats and events") {
    docker.Ok({"pull", "-q", image});
    const std::string since = std::to_string(::time(nullptr) - 1);
    docker.Ok({"run", "-d", "--name", "talk", image, "sh", "-c",
               "for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done"});
    // Follows until the container exits, with every line once.
    CHECK(docker.Ok({"logs", "-f", "talk"}) == "line1\nline2\nline3\nline4\nline5");
    CHECK(docker.Ok({"logs", "--tail", "2", "talk"}) == "line4\nline5");
    const std::string stamped = docker.Ok({"logs", "-t", "--tail", "1", "talk"});
    CHECK(absl::EndsWith(stamped, "Z line5"));
    CHECK(stamped[4] == '-');
    CHECK(stamped[10] == 'T');
    docker.Ok({"rm", "talk"});

    docker.Ok(
        {"run", "-d", "--name", "busy", "-m", "64m", image, "sh", "-c", "while true; do :; done"});
    const std::string stats = docker.Ok(
        {"stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}"});
    INFO(stats);
    std::vector<std::string> fields = absl::StrSplit(stats, ' ');
    REQUIRE(fields.size() == 6);  // name, cpu, used, "/", limit, pids
    CHECK(fields[0] == "busy");
    double cpu = 0;
    CHECK(absl::SimpleAtod(absl::StripSuffix(fields[1], "%"), &cpu));
    CHECK(cpu > 20);  // a busy loop: about one core
    CHECK(fields[4] == "64MiB");
    CHECK(fields[5] == "1");
    docker.Ok({"rm", "-f", "busy"});

    const std::string until = std::to_string(::time(nullptr) + 1);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const std::string events =
        docker.Ok({"events", "--since", since, "--until", until, "--filter", "container=busy",
                   "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"});
    // As dockerd's for docker rm -f: kill, die, destroy.
    CHECK(events ==
          "container create busy\ncontainer start busy\ncontainer kill busy\n"
          "container die busy\ncontainer destroy busy");
  }

  SECTION("cp into and out of running and stopped containers") {
    docker.Ok({"pull", "-q", image});
    docker.Ok({"run", "-d", "--name", "files", image, "sleep", "300"});
    gantry::testing::TempDir host("engined-cp");
    REQUIRE(gantry::WriteFileAtomic(host.path() + "/in.txt", "from the host\n").ok());
    docker.Ok({"cp", host.path() + "/in.txt", "files:/tmp/"});
    CHECK(docker.Ok({"exec", "files", "cat", "/tmp/in.txt"}) == "from the host");
    docker.Ok({"cp", "files:/etc/passwd", host.path() + "/passwd"});
    CHECK(absl::StartsWith(*gantry::ReadFile(host.path() + "/passwd"), "root:x:0:0:"));
    docker.Ok({"cp", "files:/etc", host.path() + "/etc"});
    CHECK(gantry::ReadFile(host.path() + "/etc/hostname").ok());
    docker.Ok({"stop", "-t", "0", "files"});
    // Stopped: its snapshot is mounted for the copy, and unmounted after.
    docker.Ok({"cp", "files:/tmp/in.txt", host.path() + "/back.txt"});
    CHECK(*gantry::ReadFile(host.path() + "/back.txt") == "from the host\n");
    ProcessResult missing = docker({"cp", "files:/nonexistent", host.path() + "/x"});
    CHECK(missing.exit_code != 0);
    CHECK(absl::StrContains(missing.err, "Could not find the file /nonexistent"));
    CHECK(MountsUnder(engined.dir() + "/exec") == 0);
    docker.Ok({"rm", "files"});

    // Bind mounts (-v and --mount, read-only honoured) and tmpfs mounts.
    CHECK(docker.Ok({"run", "--rm", "-v", host.path() + ":/host:ro", image, "cat",
                     "/host/in.txt"}) == "from the host");
    ProcessResult read_only = docker({"run", "--rm", "--mount",
                                      "type=bind,source=" + host.path() + ",target=/host,readonly",
                                      image, "touch", "/host/new"});
    CHECK(read_only.exit_code != 0);
    CHECK(absl::StrContains(read_only.err, "Read-only file system"));
    docker.Ok({"run", "--rm", "-v", host.path() + ":/host", image, "sh", "-c",
               "echo written > /host/out.txt"});
    CHECK(*gantry::ReadFile(host.path() + "/out.txt") == "written\n");
    CHECK(absl::StrContains(
        docker.Ok({"run", "--rm", "--mount", "type=tmpfs,target=/scratch,tmpfs-size=1048576", image,
                   "grep", " /scratch ", "/proc/mounts"}),
        "tmpfs /scratch tmpfs rw,nosuid,nodev,noexec"));
  }

  SECTION("restart policies and errors") {
    docker.Ok({"pull", "-q", image});
    docker.Ok(
        {"run", "-d", "--name", "flaky", "--restart", "on-failure:2", image, "sh", "-c", "exit 1"});
    CHECK(Eventually([&] {
      return docker.Ok({"inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "flaky"}) ==
             "2 exited";
    }));
    docker.Ok({"rm", "flaky"});
    ProcessResult missing = docker({"run", "--rm", registry.image() + "-missing", "true"});
    CHECK(missing.exit_code == 125);
    CHECK(absl::StrContains(missing.err, "busybox-missing"));
    ProcessResult bad = docker({"run", "--rm", "--name", "bad name", image, "true"});
    CHECK(bad.exit_code == 125);
    CHECK(absl::StrContains(bad.err, "Invalid container name"));
    ProcessResult no_such = docker({"start", "nothing-here"});
    CHECK(absl::StrContains(no_such.err, "No such container: nothing-here"));
  }

  CHECK(docker.Ok({"ps", "-aq"}).empty());
  CHECK(MountsUnder(engined.dir()) == 0);
}

TEST_CASE("engined killed with SIGKILL leaves containers running, and manages them after a restart",
          "[docker][containers][restart]") {
  Registry registry;
  auto engined = std::make_unique<Engined>();
  const auto shared_dir = engined->shared_dir();
  const std::string dir = engined->dir();
  {
    Cli docker(*engined);
    docker.Ok({"pull", "-q", registry.image()});
    docker.Ok({"run", "-d", "--name", "counter", registry.image(), "sh", "-c",
               "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done"});
  }
  // Exits (with a failure) while engined is down: its policy restarts it.
  Cli(*engined).Ok({"run", "-d", "--name", "bouncer", "--restart", "always", registry.image(), "sh",
                    "-c", "sleep 2; exit 1"});
  const std::string pid_before = Cli(*engined).Ok({"inspect", "-f", "{{.State.Pid}}", "counter"});
  const int restarts_before =
      std::stoi(Cli(*engined).Ok({"inspect", "-f", "{{.RestartCount}}", "bouncer"}));
  engined->Kill();  // SIGKILL: contd and the shim stay
  REQUIRE(::kill(std::stoi(pid_before), 0) == 0);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  engined = std::make_unique<Engined>(shared_dir);
  Cli docker(*engined);
  CHECK(Eventually([&] {
    return std::stoi(docker.Ok({"inspect", "-f", "{{.RestartCount}}", "bouncer"})) >
           restarts_before;
  }));
  docker.Ok({"rm", "-f", "bouncer"});
  CHECK(docker.Ok({"inspect", "-f", "{{.State.Status}} {{.State.Pid}}", "counter"}) ==
        "running " + pid_before);
  docker.Ok({"stop", "-t", "1", "counter"});
  // The log has every number with no gap, across the restart.
  std::vector<std::string> lines = absl::StrSplit(docker.Ok({"logs", "counter"}), '\n');
  REQUIRE(lines.size() > 5);
  for (size_t i = 0; i < lines.size(); ++i) CHECK(lines[i] == std::to_string(i));
  docker.Ok({"rm", "counter"});
  CHECK(MountsUnder(dir) == 0);
}

TEST_CASE("Debian's docker SDK for Python drives engined", "[sdk]") {
  Registry registry;
  Engined engined;
  ProcessResult r = ocirun_test::RunProcess(
      {"/usr/bin/python3", GANTRY_SOURCE_DIR "/tests/e2e/docker_sdk_scenario.py", engined.socket(),
       registry.image()},
      "", std::chrono::seconds(120));
  INFO(Describe(r));
  CHECK(r.exit_code == 0);
  CHECK(absl::StrContains(r.out, "docker SDK scenario passed"));
}
