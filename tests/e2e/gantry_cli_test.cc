// The everyday container scenario of engined_containers_test, driven with
// `gantry` instead of `docker`: pull from Debian's docker-registry, images,
// run with env/workdir/stdin/TTY/exit codes/--rm, detached runs, ps with
// filters and formats, logs, inspect -f, top, pause, stop, rename, rm,
// tag/rmi, and the errors for a missing image and an engined not there.
// Where output shapes can be compared, docker's own output is the reference.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/e2e/engined_process.h"

namespace {

using engined_test::Cells;
using engined_test::Cli;
using engined_test::Describe;
using engined_test::Engined;
using engined_test::Eventually;
using engined_test::kDockerCli;
using engined_test::kGantryCli;
using engined_test::MountsUnder;
using engined_test::Registry;
using ocirun_test::ProcessResult;

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// `gantry ARGS` on a pseudo-terminal of `rows` x `columns`, as a user at a
// terminal runs it.
class OnTerminal {
 public:
  OnTerminal(const std::vector<std::string>& args, unsigned short rows, unsigned short columns) {
    struct winsize size = {};
    size.ws_row = rows;
    size.ws_col = columns;
    pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~OnTerminal() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
    ::close(master_);
  }
  void Type(const std::string& keys) {
    REQUIRE(::write(master_, keys.data(), keys.size()) == ssize_t(keys.size()));
  }
  void Resize(unsigned short rows, unsigned short columns) {
    struct winsize size = {};
    size.ws_row = rows;
    size.ws_col = columns;
    // The kernel signals SIGWINCH to the terminal's foreground: gantry.
    REQUIRE(::ioctl(master_, TIOCSWINSZ, &size) == 0);
  }
  // Reads until `text` shows (true) or 20 s pass; what was read is in seen().
  bool WaitFor(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!absl::StrContains(seen_, text)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      struct pollfd p = {master_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buffer[4096];
      ssize_t n = ::read(master_, buffer, sizeof buffer);
      if (n <= 0) return false;
      seen_.append(buffer, size_t(n));
    }
    return true;
  }
  const std::string& seen() const { return seen_; }
  int Wait() {
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  int master_ = -1;
  pid_t pid_ = -1;
  std::string seen_;
};

}  // namespace

TEST_CASE("gantry pulls and runs containers through engined", "[gantry][containers]") {
  Registry registry;
  Engined engined;
  Cli gantry(kGantryCli, engined);
  Cli docker(kDockerCli, engined);
  const std::string image = registry.image();

  SECTION("version, info, pull, images, tag, rmi") {
    const std::string version = gantry.Ok({"version"});
    CHECK(absl::StrContains(version, "Server: Gantry Engine"));
    CHECK(absl::StrContains(version, " API version:       1.43"));
    CHECK(gantry.Ok({"version", "--format", "{{.Server.ApiVersion}}"}) == "1.43");
    CHECK(absl::StrContains(gantry.Ok({"info"}), " Storage Driver: overlayfs"));
    CHECK(gantry.Ok({"info", "--format", "{{.OSType}}"}) == "linux");

    ProcessResult pull = gantry({"pull", image});
    INFO(Describe(pull));
    REQUIRE(pull.exit_code == 0);
    CHECK(absl::StartsWith(pull.out, "Using default tag: latest\nlatest: Pulling from "));
    CHECK(absl::StrContains(pull.out, ": Pull complete\n"));
    CHECK(absl::StrContains(pull.out, "Status: Downloaded newer image for " + image + ":latest"));
    CHECK(absl::EndsWith(pull.out, "\n" + image + ":latest\n"));
    CHECK(absl::StrContains(gantry.Ok({"pull", image}), "Image is up to date"));
    CHECK(gantry.Ok({"pull", "-q", image}) == image + ":latest");

    // The table is docker's, byte for byte.
    CHECK(gantry.Ok({"images"}) == docker.Ok({"images"}));
    CHECK(Cells(FirstLine(gantry.Ok({"images"}))) ==
          std::vector<std::string>{"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"});
    CHECK(gantry.Ok({"images", "--format", "{{.Repository}}:{{.Tag}}"}) == image + ":latest");
    CHECK(gantry.Ok({"images", "-q"}) == docker.Ok({"images", "-q"}));
    CHECK(gantry.Ok({"inspect", "-f", "{{.Os}}/{{.Architecture}} {{len .RootFS.Layers}}", image}) ==
          "linux/amd64 2");

    gantry.Ok({"tag", image, image + ":v2"});
    CHECK(gantry.Ok({"images", "--format", "{{.Tag}}"}) == "latest\nv2");
    CHECK(gantry.Ok({"rmi", image + ":v2"}) == "Untagged: " + image + ":v2");
    ProcessResult gone = gantry({"rmi", image + ":v3"});
    CHECK(gone.exit_code == 1);
    CHECK(absl::StrContains(gone.err, "Error response from daemon: "));
  }

  SECTION("run: output, exit codes, env, workdir, stdin, tty, --rm") {
    // Not pulled yet: gantry pulls on "No such image", as docker does.
    ProcessResult hello = gantry({"run", "--rm", image, "echo", "hello"});
    INFO(Describe(hello));
    CHECK(hello.exit_code == 0);
    CHECK(absl::StrContains(hello.err, "Unable to find image '" + image + ":latest' locally"));
    CHECK(absl::StrContains(hello.err, "Status: Downloaded newer image for " + image));
    CHECK(hello.out == "hello\n");
    CHECK(gantry({"run", "--rm", image, "sh", "-c", "exit 3"}).exit_code == 3);
    CHECK(gantry.Ok({"run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "65534", image, "sh", "-c",
                     "echo $FOO; pwd; hostname | wc -c; id -u"}) == "bar\n/tmp\n13\n65534");
    CHECK(gantry.Ok({"run", "--rm", "-i", image, "tr", "a-z", "A-Z"}, "quiet input\n") ==
          "QUIET INPUT");
    ProcessResult errors = gantry({"run", "--rm", image, "sh", "-c", "echo out; echo err >&2"});
    CHECK(errors.out == "out\n");
    CHECK(errors.err == "err\n");
    CHECK(gantry.Ok({"run", "--rm", "-t", image, "tty"}) == "/dev/pts/0");
    CHECK(gantry.Ok({"run", "--rm", "--entrypoint", "echo", image, "via", "entrypoint"}) ==
          "via entrypoint");
    CHECK(gantry.Ok({"run", "--rm", "--mount", "type=tmpfs,target=/scratch", image, "sh", "-c",
                     "grep -c ' /scratch tmpfs' /proc/mounts"}) == "1");
    REQUIRE(gantry::MakeDirs(engined.dir() + "/shared").ok());
    REQUIRE(gantry::WriteFileAtomic(engined.dir() + "/shared/file", "from the host").ok());
    CHECK(gantry.Ok({"run", "--rm", "-v", engined.dir() + "/shared:/shared:ro", image, "cat",
                     "/shared/file"}) == "from the host");
    CHECK(gantry.Ok({"run", "--rm", "--mount",
                     "type=bind,source=" + engined.dir() + "/shared,target=/m,readonly", image,
                     "cat", "/m/file"}) == "from the host");
    CHECK(gantry.Ok({"ps", "-aq"}).empty());
  }

  SECTION("run -it: raw terminal, window size and its changes, exit status, detach keys") {
    gantry.Ok({"pull", "-q", image});
    {
      OnTerminal user({kGantryCli, "-H", gantry.host(), "run", "-it", "--rm", image, "sh"}, 40,
                      100);
      REQUIRE(user.WaitFor("# "));
      user.Type("stty size\r");
      CHECK(user.WaitFor("40 100"));
      user.Resize(30, 77);
      // The resize reaches the container shortly after the signal.
      CHECK(engined_test::Eventually([&] {
        user.Type("stty size\r");
        return user.WaitFor("30 77");
      }));
      user.Type("exit 7\r");
      INFO(user.seen());
      CHECK(user.Wait() == 7);
    }
    {
      OnTerminal user(
          {kGantryCli, "-H", gantry.host(), "run", "-it", "--name", "detached", image, "sh"}, 24,
          80);
      REQUIRE(user.WaitFor("# "));
      user.Type("\x10\x11");  // ctrl-p ctrl-q
      CHECK(user.Wait() == 0);
    }
    CHECK(gantry.Ok({"inspect", "-f", "{{.State.Status}}", "detached"}) == "running");
    {
      // exec -it follows the window size too, from its start.
      OnTerminal user({kGantryCli, "-H", gantry.host(), "exec", "-it", "detached", "sh"}, 33, 90);
      REQUIRE(user.WaitFor("# "));
      user.Type("stty size\r");
      CHECK(user.WaitFor("33 90"));
      user.Resize(21, 61);
      CHECK(engined_test::Eventually([&] {
        user.Type("stty size\r");
        return user.WaitFor("21 61");
      }));
      user.Type("exit 3\r");
      INFO(user.seen());
      CHECK(user.Wait() == 3);
    }
    gantry.Ok({"rm", "-f", "detached"});
  }

  SECTION("run passes signals on to the container; logs -f follows to the end") {
    gantry.Ok({"pull", "-q", image});
    ocirun_test::Subprocess run({kGantryCli, "-H", gantry.host(), "run", "--rm", "--name", "sig",
                                 image, "sh", "-c",
                                 "trap 'echo got TERM; exit 5' TERM; echo ready; "
                                 "while true; do sleep 0.1; done"});
    REQUIRE(Eventually([&] {
      ProcessResult logs = gantry({"logs", "sig"});
      return logs.exit_code == 0 && logs.out == "ready\n";
    }));
    ::kill(run.pid(), SIGTERM);
    ProcessResult result = run.Finish(std::chrono::seconds(20));
    INFO(Describe(result));
    CHECK(result.exit_code == 5);
    CHECK(result.out == "ready\ngot TERM\n");

    gantry.Ok({"run", "-d", "--name", "ticker", image, "sh", "-c", "echo a; sleep 1; echo b"});
    CHECK(gantry.Ok({"logs", "-f", "ticker"}) == "a\nb");
    gantry.Ok({"container", "rm", "ticker"});
    CHECK(gantry.Ok({"container", "ls", "-aq"}).empty());
  }

  SECTION("detached containers: ps, logs, inspect, top, pause, stop, rename, rm") {
    gantry.Ok({"pull", "-q", image});
    const std::string id = gantry.Ok(
        {"run", "-d", "--name", "web", image, "sh", "-c", "echo started; exec sleep 300"});
    CHECK(id.size() == 64);
    // Column widths follow the STATUS text ("Up 1 second"), which may
    // change between the two calls: equal within one second.
    CHECK(Eventually([&] { return FirstLine(gantry.Ok({"ps"})) == FirstLine(docker.Ok({"ps"})); },
                     5));
    CHECK(Cells(FirstLine(gantry.Ok({"ps"}))) ==
          std::vector<std::string>{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS",
                                   "NAMES"});
    std::vector<std::string> row = absl::StrSplit(gantry.Ok({"ps"}), '\n');
    REQUIRE(row.size() == 2);
    CHECK(absl::StartsWith(row[1],
                           id.substr(0, 12) + "   " + image + "   \"sh -c echo started;…\"   "));
    CHECK(gantry.Ok({"ps", "--no-trunc", "--format", "{{.Names}} {{.Image}} {{.Command}}"}) ==
          "web " + image + " \"sh -c echo started; exec sleep 300\"");
    CHECK(gantry.Ok({"ps", "--format", "{{.ID}}"}) == docker.Ok({"ps", "--format", "{{.ID}}"}));
    CHECK(gantry.Ok({"ps", "--format", "table {{.Names}}\\t{{.State}}"}) ==
          docker.Ok({"ps", "--format", "table {{.Names}}\\t{{.State}}"}));
    CHECK(absl::StartsWith(gantry.Ok({"ps", "--filter", "name=web", "--format", "{{.Status}}"}),
                           "Up "));
    CHECK(gantry.Ok({"ps", "--filter", "name=nothing"}) ==
          docker.Ok({"ps", "--filter", "name=nothing"}));
    CHECK(absl::StrContains(gantry.Ok({"ps", "--format", "{{json .}}"}), "\"Names\":\"web\""));
    CHECK(Eventually([&] { return gantry.Ok({"logs", "web"}) == "started"; }));
    CHECK(absl::EndsWith(gantry.Ok({"logs", "-t", "--tail", "1", "web"}), "Z started"));
    CHECK(gantry.Ok({"inspect", "-f", "{{.State.Running}} {{.Config.Hostname}} {{.Name}}",
                     "web"}) == "true " + id.substr(0, 12) + " /web");
    CHECK(gantry.Ok({"inspect", "-f", "{{json .Config.Cmd}}", "web"}) ==
          R"(["sh","-c","echo started; exec sleep 300"])");
    CHECK(absl::StartsWith(gantry.Ok({"inspect", "web"}), "[\n    {\n"));
    const std::string top = gantry.Ok({"top", "web"});
    CHECK(absl::StartsWith(top, "UID                 PID"));
    CHECK(absl::StrContains(top, "sleep 300"));
    CHECK(gantry.Ok({"pause", id.substr(0, 8)}) == id.substr(0, 8));
    CHECK(gantry.Ok({"inspect", "-f", "{{.State.Status}}", "web"}) == "paused");
    gantry.Ok({"unpause", "web"});
    ProcessResult busy = gantry({"rm", "web"});
    CHECK(busy.exit_code == 1);
    CHECK(absl::StrContains(busy.err, "Stop the container before attempting removal"));
    CHECK(gantry.Ok({"stop", "-t", "1", "web"}) == "web");
    CHECK(gantry.Ok({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web"}) ==
          "exited 137");
    CHECK(gantry.Ok({"ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"}) == "web");
    CHECK(gantry.Ok({"wait", "web"}) == "137");
    gantry.Ok({"rename", "web", "web2"});
    // create, then start -a: the output, and the container's exit status.
    gantry.Ok({"create", "--name", "once", image, "sh", "-c", "echo once; exit 4"});
    ProcessResult once = gantry({"start", "-a", "once"});
    CHECK(once.out == "once\n");
    CHECK(once.exit_code == 4);
    gantry.Ok({"rm", "once"});
    CHECK(gantry.Ok({"rm", "-f", "web2"}) == "web2");
    CHECK(gantry.Ok({"ps", "-aq"}).empty());
    ProcessResult gone = gantry({"inspect", "web2"});
    CHECK(gone.exit_code == 1);
    CHECK(absl::StrContains(gone.err, "No such object: web2"));
  }

  SECTION("exec: output, exit codes, env, workdir, stdin, detached, errors") {
    gantry.Ok({"pull", "-q", image});
    gantry.Ok({"run", "-d", "--name", "box", image, "sleep", "300"});
    CHECK(gantry.Ok({"exec", "box", "echo", "hi"}) == "hi");
    ProcessResult code = gantry({"exec", "-e", "A=b", "-w", "/tmp", "box", "sh", "-c",
                                 "echo $A; pwd; echo oops >&2; exit 4"});
    CHECK(code.exit_code == 4);
    CHECK(code.out == "b\n/tmp\n");
    CHECK(code.err == "oops\n");
    CHECK(gantry.Ok({"exec", "-i", "box", "cat"}, "piped\n") == "piped");
    CHECK(gantry.Ok({"exec", "-t", "box", "tty"}) == "/dev/pts/0");
    gantry.Ok({"exec", "-d", "box", "sh", "-c", "echo detached > /tmp/d"});
    CHECK(Eventually([&] { return gantry({"exec", "box", "cat", "/tmp/d"}).out == "detached\n"; }));
    ProcessResult missing = gantry({"exec", "box", "nosuchcmd"});
    CHECK(missing.exit_code == 126);
    CHECK(absl::StrContains(missing.err, "nosuchcmd"));
    gantry.Ok({"rm", "-f", "box"});
    ProcessResult gone = gantry({"exec", "box", "true"});
    CHECK(gone.exit_code != 0);
    CHECK(absl::StrContains(gone.err, "No such container: box"));
  }

  SECTION("restart policies and errors") {
    gantry.Ok({"pull", "-q", image});
    gantry.Ok(
        {"run", "-d", "--name", "flaky", "--restart", "on-failure:2", image, "sh", "-c", "exit 1"});
    CHECK(Eventually([&] {
      return gantry.Ok({"inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "flaky"}) ==
             "2 exited";
    }));
    gantry.Ok({"rm", "flaky"});
    ProcessResult missing = gantry({"run", "--rm", image + "-missing", "true"});
    CHECK(missing.exit_code == 125);
    CHECK(absl::StrContains(missing.err, "busybox-missing"));
    ProcessResult bad = gantry({"run", "--rm", "--name", "bad name", image, "true"});
    CHECK(bad.exit_code == 125);
    CHECK(absl::StrContains(bad.err, "Invalid container name"));
    ProcessResult no_such = gantry({"start", "nothing-here"});
    CHECK(no_such.exit_code == 1);
    CHECK(absl::StrContains(no_such.err, "No such container: nothing-here"));
    ProcessResult template_error = gantry({"ps", "--format", "{{.Names"});
    CHECK(template_error.exit_code == 1);
    CHECK(absl::StrContains(template_error.err, "template parsing error"));
  }

  CHECK(gantry.Ok({"ps", "-aq"}).empty());
  CHECK(MountsUnder(engined.dir()) == 0);
}

TEST_CASE("gantry says how to start engined when it cannot reach it", "[gantry]") {
  const std::string expected =
      "cannot reach engined at unix:///nonexistent/gantry.sock — is it running? start it "
      "with: sudo engined\n";
  ProcessResult by_flag =
      ocirun_test::RunProcess({kGantryCli, "-H", "unix:///nonexistent/gantry.sock", "ps"});
  CHECK(by_flag.exit_code == 1);
  CHECK(by_flag.err == expected);
  ProcessResult by_env = ocirun_test::RunProcess(
      {"/usr/bin/env", "GANTRY_HOST=unix:///nonexistent/gantry.sock", kGantryCli, "images"});
  CHECK(by_env.exit_code == 1);
  CHECK(by_env.err == expected);
  ProcessResult tcp = ocirun_test::RunProcess({kGantryCli, "-H", "tcp://127.0.0.1:1", "info"});
  CHECK(tcp.exit_code == 1);
  CHECK(absl::StrContains(tcp.err, "cannot reach engined at tcp://127.0.0.1:1"));
  // The client half of `version` needs no engined.
  ProcessResult version =
      ocirun_test::RunProcess({kGantryCli, "-H", "unix:///nonexistent/gantry.sock", "version"});
  CHECK(version.exit_code == 1);
  CHECK(absl::StartsWith(version.out, "Client:\n Version:           "));
  CHECK(version.err == expected);
}

TEST_CASE("gantry refuses what it cannot do as docker does", "[gantry]") {
  ProcessResult flag = ocirun_test::RunProcess({kGantryCli, "ps", "--bogus"});
  CHECK(flag.exit_code == 125);
  CHECK(absl::StrContains(flag.err, "--bogus"));
  ProcessResult no_image = ocirun_test::RunProcess({kGantryCli, "run"});
  CHECK(no_image.exit_code == 125);
  CHECK(absl::StrContains(no_image.err, "\"run\" requires at least 1 argument"));
  ProcessResult build = ocirun_test::RunProcess({kGantryCli, "build", "."});
  CHECK(build.exit_code == 1);
  CHECK(build.err == "gantry build: not supported by this engined yet\n");
  ProcessResult exec = ocirun_test::RunProcess({kGantryCli, "exec", "web"});
  CHECK(exec.exit_code == 125);
  CHECK(absl::StrContains(exec.err, "\"exec\" requires at least 2 arguments"));
}
