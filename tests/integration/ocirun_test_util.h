// Helpers for the ocirun integration tests: the built `ocirun` binary run as a
// subprocess against a private --root and a private copy of the busybox
// fixture bundle, and an RAII guard that force-deletes every container the
// test made and removes its temporary directory, even when the test fails.
#pragma once

#include <sys/types.h>

#include <time.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/unique_fd.h"

namespace ocirun_test {

constexpr const char* kOcirun = GANTRY_BINARY_DIR "/ocirun/ocirun";
constexpr const char* kFixtureBundle = GANTRY_FIXTURES_DIR "/bundle";
// Every temporary directory and container id the tests make carries one of
// these, so the final leak test can find whatever was left behind.
constexpr const char* kTempPrefix = "/tmp/ocirun-itest.";
constexpr const char* kIdPrefix = "ocirun-itest-";

// The runtime under test: kOcirun, or $OCIRUN_TEST_RUNTIME (e.g. /usr/sbin/runc,
// to check that an expectation is runc's behaviour).
std::string Runtime();

struct ProcessResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
};

// A child process (argv[0] is a path) with the given stdin and its stdout
// and stderr piped; killed and reaped if never finished.
class Subprocess {
 public:
  explicit Subprocess(const std::vector<std::string>& argv, const std::string& input = "");
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Waits for the exit, killing the child after `timeout`, and returns its
  // output: what was written until it exited (a detached container that
  // inherited the pipes does not hold us up). Output beyond a pipe's buffer
  // must be read by Finish, so call it soon for chatty children.
  ProcessResult Finish(std::chrono::seconds timeout = std::chrono::seconds(20));

 private:
  std::string what_;
  pid_t pid_ = -1;
  gantry::UniqueFd out_, err_;
};

// Subprocess(argv, input).Finish(timeout).
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                         std::chrono::seconds timeout = std::chrono::seconds(20));

// A test's world: a temporary directory holding --root ("root"), a copy of the
// fixture bundle ("bundle") and scratch space. When it goes out of scope every
// container it handed an id to (or finds under its root) is force-deleted;
// a cgroup or host mount still left after that fails the test, and is then
// removed so that the next test starts clean.
class OcirunEnv {
 public:
  OcirunEnv();
  OcirunEnv(const OcirunEnv&) = delete;
  OcirunEnv& operator=(const OcirunEnv&) = delete;
  ~OcirunEnv();

  const std::string& dir() const { return dir_; }
  std::string root() const { return dir_ + "/root"; }
  std::string bundle() const { return dir_ + "/bundle"; }
  // A new directory under dir() (for bind mounts, hook markers...).
  std::string MakeDir(const std::string& name) const;

  // The bundle's config.json: edit it, then Save() before create/run.
  nlohmann::json& config() { return config_; }
  void Save() const;
  // Shortcut for config()["process"]["args"] = {"sh", "-c", script}; Save().
  void SetScript(const std::string& script);

  // A fresh container id, recorded for cleanup.
  std::string NewId();

  // `ocirun --root <root> args...`, run in the bundle directory.
  ProcessResult Ocirun(const std::vector<std::string>& args, const std::string& input = "") const;
  // `ocirun run --bundle <bundle> <new id>`: the container's output and exit code.
  ProcessResult Run();
  // `ocirun run -d`, REQUIREs success, returns the id.
  std::string RunDetached();
  // `ocirun create`, REQUIREs success, returns the id.
  std::string Create(const std::vector<std::string>& extra_args = {});
  // `ocirun state ID` parsed; REQUIREs success.
  nlohmann::json State(const std::string& id) const;
  pid_t Pid(const std::string& id) const { return State(id)["pid"].get<pid_t>(); }

 private:
  std::string dir_;
  nlohmann::json config_;
  std::vector<std::string> ids_;
};

// Polls `predicate` every 10 ms until it holds or `timeout` passes.
template <typename F>
bool Eventually(F predicate, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// Reads a file whole; nullopt when it cannot be opened.
std::optional<std::string> ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);
bool Exists(const std::string& path);

// `s` without leading and trailing whitespace.
std::string Trim(const std::string& s);

// Lines of `text` that contain `needle`.
std::vector<std::string> LinesContaining(const std::string& text, const std::string& needle);

// The cgroup directories a container with this id could own on the host:
// <mount>/<id> and <mount>/<this process's cgroup>/<id> for every cgroup
// hierarchy (v1 controllers, named ones such as name=systemd, and cgroup2),
// whether or not they exist.
std::vector<std::string> CandidateCgroupDirs(const std::string& id);
// Those of CandidateCgroupDirs() that exist.
std::vector<std::string> ExistingCgroupDirs(const std::string& id);
// The directory of `pid`'s cgroup in the v1 hierarchy of `controller`
// ("" for cgroup2), from /proc/PID/cgroup and the host's mount table.
std::string HostCgroupDir(pid_t pid, const std::string& controller);

// True while a process with this pid exists and is not a zombie.
bool ProcessAlive(pid_t pid);

// ---------------------------------------------------------------------------

template <typename F>
bool Eventually(F predicate, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    struct timespec ts {
      0, 10 * 1000 * 1000
    };
    nanosleep(&ts, nullptr);
  }
}

}  // namespace ocirun_test
