// Signals by name or number, the executable a container's args[0] resolves
// to, and the exit code a waited-for process reports.
#include "ocirun/lib/process_util.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "common/file_util.h"

namespace {

int WaitStatusOf(void (*child)()) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Catch2's handlers would report the signal as a test failure.
    ::signal(SIGTERM, SIG_DFL);
    child();
    ::_exit(99);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

void Executable(const std::string& path, mode_t mode = 0755) {
  REQUIRE(gantry::WriteFileAtomic(path, "#!/bin/sh\n", mode).ok());
}

}  // namespace

TEST_CASE("signals are accepted by name, SIG-prefixed name or number", "[process_util]") {
  for (const char* text : {"KILL", "SIGKILL", "kill", "sigkill", "9"}) {
    INFO(text);
    auto sig = ocirun::ParseSignal(text);
    REQUIRE(sig.ok());
    CHECK(*sig == SIGKILL);
  }
  CHECK(*ocirun::ParseSignal("TERM") == SIGTERM);
  CHECK(*ocirun::ParseSignal("SIGHUP") == SIGHUP);
  CHECK(*ocirun::ParseSignal("usr1") == SIGUSR1);
  CHECK(*ocirun::ParseSignal("WINCH") == SIGWINCH);
  CHECK(*ocirun::ParseSignal("CHLD") == SIGCHLD);
  CHECK(*ocirun::ParseSignal("64") == 64);

  SECTION("real-time signals by offset") {
    CHECK(*ocirun::ParseSignal("RTMIN") == SIGRTMIN);
    CHECK(*ocirun::ParseSignal("SIGRTMIN+3") == SIGRTMIN + 3);
    CHECK(*ocirun::ParseSignal("RTMAX") == SIGRTMAX);
    CHECK(*ocirun::ParseSignal("rtmax-2") == SIGRTMAX - 2);
  }
  SECTION("anything else is refused with the text given") {
    CHECK(ocirun::ParseSignal("FOO").status().message() == "unknown signal \"FOO\"");
    CHECK(ocirun::ParseSignal("").status().message() == "unknown signal \"\"");
    CHECK(ocirun::ParseSignal("0").status().message() == "invalid signal \"0\"");
    CHECK(ocirun::ParseSignal("-9").status().message() == "invalid signal \"-9\"");
    CHECK(ocirun::ParseSignal("65").status().message() == "invalid signal \"65\"");
    CHECK(ocirun::ParseSignal("RTMIN-1").status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_FALSE(ocirun::ParseSignal("RTMAX-40").ok());
    CHECK_FALSE(ocirun::ParseSignal("RTMIN+40").ok());
  }
}

TEST_CASE("exit codes follow the shell: the status, or 128 + the signal", "[process_util]") {
  int exited = WaitStatusOf([] { ::_exit(3); });
  CHECK(ocirun::ExitCodeFromWaitStatus(exited) == 3);
  CHECK(ocirun::DescribeWaitStatus(exited) == "exited with status 3");

  int clean = WaitStatusOf([] { ::_exit(0); });
  CHECK(ocirun::ExitCodeFromWaitStatus(clean) == 0);

  int killed = WaitStatusOf([] { ::raise(SIGKILL); });
  CHECK(ocirun::ExitCodeFromWaitStatus(killed) == 137);
  CHECK(ocirun::DescribeWaitStatus(killed) == "killed by signal 9");

  int terminated = WaitStatusOf([] { ::raise(SIGTERM); });
  CHECK(ocirun::ExitCodeFromWaitStatus(terminated) == 143);
}

TEST_CASE("LookPath searches the container's PATH for an executable file", "[process_util]") {
  char tmpl[] = "/tmp/gantry-lookpath-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  REQUIRE(gantry::MakeDirs(dir + "/a").ok());
  REQUIRE(gantry::MakeDirs(dir + "/b/tool.d").ok());
  Executable(dir + "/b/tool");
  Executable(dir + "/a/tool", 0644);  // not executable: skipped
  Executable(dir + "/a/other");
  std::vector<std::string> env = {"HOME=/root", "PATH=" + dir + "/a:" + dir + "/b"};

  CHECK(*ocirun::LookPath("tool", env) == dir + "/b/tool");
  CHECK(*ocirun::LookPath("other", env) == dir + "/a/other");
  auto dir_only = ocirun::LookPath("tool.d", env);  // a directory is not a program
  REQUIRE_FALSE(dir_only.ok());
  CHECK(dir_only.status().message() == "exec: \"tool.d\": executable file not found in $PATH");

  SECTION("the last PATH wins, as the environment is applied in order") {
    env.push_back("PATH=" + dir + "/b");
    CHECK_FALSE(ocirun::LookPath("other", env).ok());
  }
  SECTION("names with a slash are used as given") {
    CHECK(*ocirun::LookPath(dir + "/a/other", {}) == dir + "/a/other");
    auto missing = ocirun::LookPath("/nonexistent/tool", env);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.status().code() == absl::StatusCode::kNotFound);
    CHECK(missing.status().message() ==
          "exec: \"/nonexistent/tool\": stat /nonexistent/tool: no such file or directory");
  }
  SECTION("without PATH the default one is searched") {
    auto sh = ocirun::LookPath("sh", {"HOME=/"});
    REQUIRE(sh.ok());
    CHECK(::access(sh->c_str(), X_OK) == 0);
  }
  REQUIRE(gantry::RemoveTree(dir).ok());
}

TEST_CASE("ExecArgs gives execve NULL-terminated arrays", "[process_util]") {
  ocirun::ExecArgs args({"/bin/echo", "hi"}, {"A=1"});
  CHECK(std::string(args.argv()[0]) == "/bin/echo");
  CHECK(std::string(args.argv()[1]) == "hi");
  CHECK(args.argv()[2] == nullptr);
  CHECK(std::string(args.envp()[0]) == "A=1");
  CHECK(args.envp()[1] == nullptr);
}
