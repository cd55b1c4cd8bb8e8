// A private engined for end-to-end tests (its own socket, data and exec
// roots, and the contd it starts), and the docker CLIs that drive it.
#pragma once

#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/unix_socket.h"
#include "engined/network/netlink.h"
#include "engined/network/netns.h"
#include "engined/network/port_proxy.h"
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

// The loopback ports of the test registries alive now: an engined's
// network namespace forwards them to the host's loopback, so its contd
// pulls from and pushes to them as "127.0.0.1:PORT".
inline std::set<uint16_t>& RegistryPorts() {
  static std::set<uint16_t> ports;
  return ports;
}

// engined's own network namespace: its bridges, addresses and nftables
// rules never touch the machine's, and the engineds of tests running side
// by side never meet. Shared by the engineds of one directory (a restart
// finds the sandboxes of its running containers) and removed with the last.
class TestNetns {
 public:
  static std::shared_ptr<TestNetns> For(const std::string& dir) {
    static std::map<std::string, std::weak_ptr<TestNetns>> live;
    if (std::shared_ptr<TestNetns> existing = live[dir].lock()) return existing;
    auto netns = std::shared_ptr<TestNetns>(
        new TestNetns(absl::StrCat("/run/gantry-tests/", dir.substr(dir.rfind('/') + 1))));
    live[dir] = netns;
    return netns;
  }
  ~TestNetns() {
    forwarders_.clear();
    work_.reset();
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
    (void)gantry::engined::network::RemoveNetworkNamespace(path_);
  }
  // Listeners on the namespace's 127.0.0.1:PORT relaying to the host's, for
  // every test registry not forwarded yet.
  void ForwardRegistries() {
    namespace net = gantry::engined::network;
    const auto loopback = *net::Ipv4Address::Parse("127.0.0.1");
    for (uint16_t port : RegistryPorts()) {
      if (!forwarded_.insert(port).second) continue;
      absl::Status status = net::RunInNetworkNamespace(path_, [&]() -> absl::Status {
        absl::StatusOr<std::unique_ptr<net::PortProxy>> proxy =
            net::PortProxy::Start(io_, {.protocol = "tcp",
                                        .host_ip = loopback,
                                        .host_port = port,
                                        .container_ip = loopback,
                                        .container_port = port});
        if (!proxy.ok()) return proxy.status();
        forwarders_.push_back(*std::move(proxy));
        return absl::OkStatus();
      });
      INFO(status.ToString());
      REQUIRE(status.ok());
    }
  }
  const std::string& path() const { return path_; }
  // `argv` run inside the namespace (clients of a TCP engined, curl to
  // published ports).
  std::vector<std::string> Wrap(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"/usr/bin/nsenter", "--net=" + path_, "--"});
    return argv;
  }

 private:
  explicit TestNetns(std::string path) : path_(std::move(path)) {
    namespace net = gantry::engined::network;
    REQUIRE(gantry::MakeDirs("/run/gantry-tests", 0700).ok());
    (void)net::RemoveNetworkNamespace(path_);
    REQUIRE(net::CreateNetworkNamespace(path_).ok());
    REQUIRE(net::RunInNetworkNamespace(path_, [] {
              absl::StatusOr<net::Netlink> netlink = net::Netlink::Open();
              return netlink.ok() ? netlink->SetUp("lo") : netlink.status();
            }).ok());
  }
  std::string path_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  // Connections toward the registry are made on this thread, in the host's namespace.
  std::thread io_thread_{[this] { io_.run(); }};
  std::set<uint16_t> forwarded_;
  std::vector<std::unique_ptr<gantry::engined::network::PortProxy>> forwarders_;
};

// A private engined: its own socket, data and exec roots, no daemon.json,
// in its own network namespace.
class Engined {
 public:
  explicit Engined(std::vector<std::string> extra = {})
      : Engined(std::make_shared<gantry::testing::TempDir>("engined-e2e"), std::move(extra)) {}
  // On the directories of an earlier engined (a restart).
  Engined(std::shared_ptr<gantry::testing::TempDir> dir, std::vector<std::string> extra = {})
      : dir_(std::move(dir)), netns_(TestNetns::For(dir_->path())) {
    AddBuildTreeToPath();
    netns_->ForwardRegistries();
    std::vector<std::string> argv = {"/usr/bin/nsenter",
                                     "--net=" + netns_->path(),
                                     "--",
                                     kEngined,
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
    if (!process_) return;
    // Whatever a failed test left: no container outlives the test.
    ProcessResult ids = RunProcess({kDockerCli, "-H", "unix://" + socket(), "ps", "-aq"});
    for (const auto& id : absl::StrSplit(ids.out, '\n', absl::SkipEmpty())) {
      RunProcess({kDockerCli, "-H", "unix://" + socket(), "rm", "-f", std::string(id)});
    }
    Stop();
  }

  std::string socket() const { return dir_->path() + "/engined.sock"; }
  const std::string& dir() const { return dir_->path(); }
  const std::shared_ptr<gantry::testing::TempDir>& shared_dir() const { return dir_; }
  const TestNetns& netns() const { return *netns_; }
  pid_t pid() const { return process_->pid(); }
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
  std::shared_ptr<TestNetns> netns_;
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
    RegistryPorts().insert(port());
  }
  ~Registry() { RegistryPorts().erase(port()); }
  std::string image() const { return registry_.domain() + "/busybox"; }
  uint16_t port() const {
    const std::string domain = registry_.domain();
    return static_cast<uint16_t>(std::stoi(domain.substr(domain.rfind(':') + 1)));
  }

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

// The docker CLI of the machine (28.x) against an engined.
class DockerCli : public Cli {
 public:
  explicit DockerCli(const Engined& engined) : Cli(kDockerCli, engined) {}
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

// busybox httpd serving `text` at / on port 80.
inline std::vector<std::string> HttpdCommand(const std::string& text) {
  return {"sh", "-c",
          absl::StrCat("mkdir -p /www && echo ", text,
                       " > /www/index.html && exec httpd -f -p 80 -h /www")};
}

// A command's output as its non-empty lines.
inline std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// A shell command making a GET with busybox nc from inside a container: the
// body's last line, "" when the connection fails within 2 s.
inline std::string GetFrom(const std::string& host) {
  return absl::StrCat("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ", host, " 80 | tail -n 1");
}

// curl in engined's network namespace (its published ports): the body, or
// "curl failed: CODE".
inline std::string Curl(const Engined& engined, const std::string& url) {
  ProcessResult r = RunProcess(engined.netns().Wrap({"/usr/bin/curl", "-s", "-m", "5", url}));
  return r.exit_code == 0 ? r.out : absl::StrCat("curl failed: ", r.exit_code);
}

// A table line's cells: text between runs of two or more spaces.
inline std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  for (absl::string_view cell : absl::StrSplit(line, absl::ByString("  "), absl::SkipEmpty())) {
    cells.emplace_back(absl::StripAsciiWhitespace(cell));
  }
  return cells;
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
