// A private engined for end-to-end tests (its own socket, data and exec
// roots, and the contd it starts), and the docker CLIs that drive it.
#pragma once

#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/unix_socket.h"
#include "tests/integration/ocirun_test_util.h"
#include "tests/integration/registry_test_util.h"
#include "tests/temp_dir.h"

namespace engined_test {

using ocirun_test::ProcessResult;
using ocirun_test::RunProcess;

inline constexpr const char* kEngined = GANTRY_BINARY_DIR "/engined/engined";
inline constexpr const char* kDockerCli = "/usr/local/bin/docker";  // 28.x
inline constexpr const char* kDebianDocker = "/usr/bin/docker";     // 20.10
inline constexpr const char* kGantryCli = GANTRY_BINARY_DIR "/cli/gantry";

inline std::string Describe(const ProcessResult& r) {
  return absl::StrCat("exit ", r.exit_code, "\nstdout:\n", r.out, "\nstderr:\n", r.err);
}

// A private engined: its own socket, data and exec roots, no daemon.json.
class Engined {
 public:
  explicit Engined(std::vector<std::string> extra = {})
      : Engined(std::make_shared<gantry::testing::TempDir>("engined-e2e"), std::move(extra)) {}
  // On the directories of an earlier engined (a restart).
  Engined(std::shared_ptr<gantry::testing::TempDir> dir, std::vector<std::string> extra = {})
      : dir_(std::move(dir)) {
    AddBuildTreeToPath();
    std::vector<std::string> argv = {kEngined,
                                     "-H",
                                     "unix://" + socket(),
                                     "--data-root",
                                     dir_->path() + "/data",
                                     "--exec-root",
                                     dir_->path() + "/exec",
                                     "--config-file",
                                     dir_->path() + "/daemon.json",
                                     "--group",
                                     "root"};
    // The given daemon.json must exist: an empty one.
    REQUIRE(gantry::WriteFileAtomic(dir_->path() + "/daemon.json", "{}").ok());
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ocirun_test::Subprocess>(argv);
    for (int i = 0; i < 800 && !Answers(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    REQUIRE(Answers());
  }
  ~Engined() {
    if (process_) Stop();
  }

  std::string socket() const { return dir_->path() + "/engined.sock"; }
  const std::string& dir() const { return dir_->path(); }
  const std::shared_ptr<gantry::testing::TempDir>& shared_dir() const { return dir_; }
  // SIGKILL, as a crash: engined's contd and the containers stay.
  void Kill() { Stop(SIGKILL); }
  ProcessResult Stop(int signal = SIGTERM) {
    ::kill(process_->pid(), signal);
    ProcessResult result = process_->Finish(std::chrono::seconds(10));
    process_.reset();
    return result;
  }

 private:
  // engined finds contd, contd finds contd-shim and ocirun, on PATH (they
  // are not beside each other in the build tree as they are when installed).
  static void AddBuildTreeToPath() {
    const std::string dirs =
        GANTRY_BINARY_DIR "/contd:" GANTRY_BINARY_DIR "/shim:" GANTRY_BINARY_DIR "/ocirun";
    const char* path = ::getenv("PATH");
    if (path != nullptr && absl::StartsWith(path, dirs)) return;
    ::setenv("PATH", absl::StrCat(dirs, ":", path ? path : "/usr/bin:/bin").c_str(), 1);
  }
  bool Answers() const { return gantry::ConnectUnixSocket(socket()).ok(); }

  std::shared_ptr<gantry::testing::TempDir> dir_;
  std::unique_ptr<ocirun_test::Subprocess> process_;
};

inline ProcessResult Docker(const char* cli, const std::string& host,
                            std::vector<std::string> args) {
  std::vector<std::string> argv = {cli, "-H", host};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

// Debian's docker-registry with the busybox fixture as <domain>/busybox:latest
// (tests using it link registry_test_util).
class Registry {
 public:
  Registry() : registry_(dir_.path()) {
    registry_test::PushFixture(registry_.domain(), "busybox", {"--dest-tls-verify=false"});
  }
  std::string image() const { return registry_.domain() + "/busybox"; }

 private:
  gantry::testing::TempDir dir_{"engined-registry"};
  registry_test::TestRegistry registry_;
};

// A docker-like CLI (docker itself, or gantry) pointed at an engined.
class Cli {
 public:
  Cli(const char* binary, const Engined& engined)
      : binary_(binary), host_("unix://" + engined.socket()) {}
  ProcessResult operator()(std::vector<std::string> args, const std::string& input = "") const {
    std::vector<std::string> argv = {binary_, "-H", host_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, input, std::chrono::seconds(60));
  }
  // Runs and requires exit 0; the trimmed stdout.
  std::string Ok(std::vector<std::string> args, const std::string& input = "") const {
    ProcessResult r = (*this)(args, input);
    INFO(binary_ << " " << absl::StrJoin(args, " ") << ": " << Describe(r));
    REQUIRE(r.exit_code == 0);
    return std::string(absl::StripTrailingAsciiWhitespace(r.out));
  }
  const std::string& host() const { return host_; }

 private:
  std::string binary_;
  std::string host_;
};

// Polls `condition` for up to `seconds`.
template <typename Fn>
bool Eventually(Fn condition, int seconds = 15) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

// Mount points under `dir` (the leak check: nothing may stay mounted).
inline int MountsUnder(const std::string& dir) {
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  int count = 0;
  while (std::getline(mounts, line)) count += absl::StrContains(line, " " + dir) ? 1 : 0;
  return count;
}

}  // namespace engined_test
