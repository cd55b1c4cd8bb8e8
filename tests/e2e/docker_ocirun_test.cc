// End to end: Debian's Docker drives ocirun unchanged. A private dockerd (its
// own containerd, data and exec roots, socket and cgroup parent under a
// temporary directory) is started with `--add-runtime ocirun=<built ocirun>`,
// and the docker CLI runs the busybox fixture image with `--runtime ocirun`.
// containerd's runc shim then calls ocirun exactly as it calls runc: create
// (with and without --console-socket), start, exec, kill, delete [--force],
// ps, pause, resume, update --resources -.
//
// The test process is a child subreaper: containerd's shims outlive the
// processes that start them, and PID 1 here does not reap orphans, so every
// process the stack leaves behind comes back to us and is reaped (and, if it
// is still running at the end, reported as a leak and killed).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kDockerd = "/usr/sbin/dockerd";
// Debian's CLI, not whatever else is on PATH: it must match the daemon.
constexpr const char* kDocker = "/usr/bin/docker";
constexpr const char* kOcirun = GANTRY_BINARY_DIR "/ocirun/ocirun";
constexpr const char* kImageArchive = GANTRY_FIXTURES_DIR "/images/busybox-docker.tar";
constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
// Flags every `docker run` here needs: the private dockerd has no bridge
// network. Docker's default seccomp profile applies.
const std::vector<std::string> kRunFlags = {"--runtime", "ocirun", "--network", "none"};
// What dockerd and containerd make outside their roots whatever the flags
// (shim sockets, the plugin directory, the daemon's key), children first.
// The ones that did not exist before the test are removed after it.
const std::vector<std::string> kHostPathsMadeByDocker = {"/run/containerd/s", "/run/containerd",
                                                         "/run/docker/plugins", "/run/docker",
                                                         "/etc/docker/key.json"};

// ---------------------------------------------------------------------------
// Child processes. Everything is reaped here with waitpid(-1): as a subreaper
// we also inherit the stack's orphans, whose statuses are kept by pid.

std::map<pid_t, int>& ReapedStatuses() {
  static std::map<pid_t, int> statuses;
  return statuses;
}

void ReapExited() {
  int status;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) ReapedStatuses()[pid] = status;
}

// The wait status of `pid` once it has exited.
std::optional<int> ExitStatus(pid_t pid) {
  ReapExited();
  auto it = ReapedStatuses().find(pid);
  if (it == ReapedStatuses().end()) return std::nullopt;
  int status = it->second;
  ReapedStatuses().erase(it);
  return status;
}

int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Waits up to `timeout` for `pid` to exit; its wait status, or nothing.
std::optional<int> WaitExit(pid_t pid, Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (auto status = ExitStatus(pid)) return status;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

// Our running children (the stack's orphans included), from /proc.
std::vector<pid_t> LiveChildren() {
  std::vector<pid_t> children;
  const std::string self = std::to_string(::getpid());
  for (const auto& entry : fs::directory_iterator("/proc")) {
    int pid;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...; comm may hold spaces, so split after ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(line.substr(close + 2), ' ');
    if (fields.size() > 1 && fields[0] != "Z" && fields[1] == self) children.push_back(pid);
  }
  return children;
}

std::string ProcessName(pid_t pid) {
  auto cmdline = gantry::ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
  if (!cmdline.ok()) return absl::StrCat("pid ", pid);
  std::string name = absl::StrJoin(absl::StrSplit(*cmdline, '\0', absl::SkipEmpty()), " ");
  return absl::StrCat(pid, " (", name.substr(0, 120), ")");
}

struct ProcessResult {
  int exit_code = -1;  // 128+N when killed by signal N; -1 when it timed out
  std::string out;
  std::string err;
};

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// fork + execve with stdin from /dev/null and stdout/stderr on the given fds.
pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int out_fd,
            int err_fd) {
  auto args = CStrings(argv);
  auto envp = CStrings(env);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int null = ::open("/dev/null", O_RDONLY);
  ::dup2(null, 0);
  ::dup2(out_fd, 1);
  ::dup2(err_fd, 2);
  ::closefrom(3);
  ::sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(args[0], args.data(), envp.data());
  ::_exit(127);
}

// Runs argv to completion, capturing stdout and stderr; killed after `timeout`.
ProcessResult Run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                  Clock::duration timeout = seconds(60)) {
  int out_pipe[2], err_pipe[2];
  REQUIRE(::pipe2(out_pipe, O_CLOEXEC | O_NONBLOCK) == 0);
  REQUIRE(::pipe2(err_pipe, O_CLOEXEC | O_NONBLOCK) == 0);
  gantry::UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  gantry::UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  pid_t pid = Spawn(argv, env, out_write.get(), err_write.get());
  REQUIRE(pid > 0);
  out_write.Reset();
  err_write.Reset();

  ProcessResult result;
  auto drain = [](int fd, std::string& into) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) into.append(buf, n);
  };
  auto deadline = Clock::now() + timeout;
  for (;;) {
    pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
    ::poll(fds, 2, 20);
    drain(out_read.get(), result.out);
    drain(err_read.get(), result.err);
    // Collect until the process exits: something it started in the
    // background may keep the pipes open for longer.
    if (auto status = ExitStatus(pid)) {
      drain(out_read.get(), result.out);
      drain(err_read.get(), result.err);
      result.exit_code = ExitCode(*status);
      return result;
    }
    if (Clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      WaitExit(pid, seconds(5));
      result.err += "\n[killed: timed out]";
      return result;
    }
  }
}

std::string Describe(const std::vector<std::string>& argv, const ProcessResult& r) {
  return absl::StrCat("$ ", absl::StrJoin(argv, " "), "\nexit code: ", r.exit_code,
                      "\nstdout: ", r.out, "\nstderr: ", r.err);
}

// ---------------------------------------------------------------------------
// Mounts and cgroups.

// Mount points under `dir`, deepest (most recently mounted) first.
std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> mounts;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 5) continue;
    if (fields[4] == dir || absl::StartsWith(fields[4], dir + "/")) mounts.push_back(fields[4]);
  }
  std::reverse(mounts.begin(), mounts.end());
  return mounts;
}

// The hierarchies mounted under /sys/fs/cgroup (v1 controllers and unified).
std::vector<std::string> CgroupHierarchies() {
  std::vector<std::string> dirs;
  for (const auto& mount : MountsUnder(kCgroupRoot))
    if (mount != kCgroupRoot) dirs.push_back(mount);
  return dirs;
}

// Every cgroup directory below `dir`, children before their parents.
std::vector<std::string> CgroupsBelow(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) found.push_back(it->path().string());
  std::sort(found.rbegin(), found.rend());
  return found;
}

// ---------------------------------------------------------------------------
// A private dockerd and the docker CLI pointed at it. The destructor (or
// Shutdown()) removes every container, stops dockerd and its containerd,
// reaps or kills whatever processes are left, unmounts what the daemons left
// under the temporary directory, removes the cgroup parent and the directory.

class PrivateDocker {
 public:
  PrivateDocker() {
    char tmpl[] = "/tmp/gantry-e2e-docker.XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    // Unique per run, so that concurrent runs and leftovers never mix.
    cgroup_parent_ = absl::StrCat("/gantry-e2e-", ::getpid());
    REQUIRE(gantry::WriteFileAtomic(dir_ + "/daemon.json", "{}\n").ok());
    for (const auto& path : kHostPathsMadeByDocker)
      if (!fs::exists(fs::symlink_status(path))) host_paths_to_remove_.push_back(path);
    env_ = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir_,
            "DOCKER_CONFIG=" + dir_ + "/cli"};
  }
  PrivateDocker(const PrivateDocker&) = delete;
  PrivateDocker& operator=(const PrivateDocker&) = delete;
  ~PrivateDocker() { Shutdown(); }

  const std::string& cgroup_parent() const { return cgroup_parent_; }
  std::string socket() const { return dir_ + "/docker.sock"; }

  // Starts dockerd and waits until it answers /_ping; an error message or "".
  std::string Start() {
    gantry::UniqueFd log(
        ::open((dir_ + "/dockerd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log) return "could not create dockerd.log";
    // One flag and its value per line.
    // clang-format off
    std::vector<std::string> argv = {
        kDockerd,
        "--config-file", dir_ + "/daemon.json",
        "--data-root", dir_ + "/data",
        "--exec-root", dir_ + "/exec",
        "--pidfile", dir_ + "/pid",
        "-H", "unix://" + socket(),
        "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
        "--containerd-namespace", "gantry-e2e",
        "--containerd-plugins-namespace", "gantry-e2e-plugins",
        "--exec-opt", "native.cgroupdriver=cgroupfs",
        "--cgroup-parent", cgroup_parent_,
        "--add-runtime", std::string("ocirun=") + kOcirun,
    };
    // clang-format on
    dockerd_ = Spawn(argv, env_, log.get(), log.get());
    if (dockerd_ <= 0) return "fork failed";
    auto deadline = Clock::now() + seconds(60);
    while (Clock::now() < deadline) {
      if (Ping()) return "";
      if (auto status = ExitStatus(dockerd_)) {
        dockerd_ = -1;
        return absl::StrCat("dockerd exited with code ", ExitCode(*status), ":\n", LogTail());
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    return absl::StrCat("dockerd did not answer /_ping within 60 s:\n", LogTail());
  }

  // `docker -H unix://<socket> args...`.
  ProcessResult Cli(const std::vector<std::string>& args,
                    Clock::duration timeout = seconds(60)) const {
    return Run(CliArgv(args), env_, timeout);
  }
  std::vector<std::string> CliArgv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {kDocker, "-H", "unix://" + socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  std::string LogTail() const {
    auto log = gantry::ReadFile(dir_ + "/dockerd.log");
    if (!log.ok()) return "(no dockerd.log)";
    return log->size() > 6000 ? log->substr(log->size() - 6000) : *log;
  }

  // Tears everything down (once); what had to be forced, one line each.
  std::vector<std::string> Shutdown() {
    std::vector<std::string> leaks;
    if (dir_.empty()) return leaks;
    if (dockerd_ > 0) {
      auto ids = Cli({"ps", "-aq"}, seconds(30));
      std::vector<std::string> rm = {"rm", "-f"};
      for (absl::string_view id : absl::StrSplit(ids.out, '\n', absl::SkipWhitespace()))
        rm.emplace_back(id);
      if (rm.size() > 2) {
        auto removed = Cli(rm, seconds(60));
        if (removed.exit_code != 0) leaks.push_back("docker rm -f failed: " + removed.err);
      }
      ::kill(dockerd_, SIGTERM);
      auto status = WaitExit(dockerd_, seconds(30));
      if (!status) {
        leaks.push_back("dockerd ignored SIGTERM for 30 s; killed");
        ::kill(dockerd_, SIGKILL);
        WaitExit(dockerd_, seconds(10));
      } else if (ExitCode(*status) != 0) {
        leaks.push_back(absl::StrCat("dockerd exited with code ", ExitCode(*status)));
      }
      dockerd_ = -1;
    }
    // containerd and the shims came back to us when their parents exited.
    auto deadline = Clock::now() + seconds(15);
    std::vector<pid_t> children;
    while (!(children = LiveChildren()).empty() && Clock::now() < deadline) {
      ReapExited();
      std::this_thread::sleep_for(milliseconds(50));
    }
    for (pid_t pid : children) {
      leaks.push_back("process still running after dockerd stopped: " + ProcessName(pid));
      ::kill(pid, SIGKILL);
      WaitExit(pid, seconds(5));
    }
    ReapExited();
    // dockerd leaves its own mounts (overlay2's, shm, netns) under its roots.
    for (const auto& mount : MountsUnder(dir_)) ::umount2(mount.c_str(), MNT_DETACH);
    for (const auto& mount : MountsUnder(dir_)) leaks.push_back("mount left behind: " + mount);
    // Container cgroups are ocirun's to remove (on delete); only the
    // parent, which dockerd makes on demand, is ours.
    for (const auto& hierarchy : CgroupHierarchies()) {
      std::string parent = hierarchy + cgroup_parent_;
      for (const auto& cgroup : CgroupsBelow(parent)) {
        leaks.push_back("cgroup left behind: " + cgroup);
        ::rmdir(cgroup.c_str());
      }
      ::rmdir(parent.c_str());
    }
    // remove() takes files and empty directories: a shim socket still there is a leak.
    for (const auto& path : host_paths_to_remove_)
      if (::remove(path.c_str()) != 0 && errno != ENOENT)
        leaks.push_back(absl::StrCat("could not remove ", path, ": ", std::strerror(errno)));
    if (auto st = gantry::RemoveTree(dir_); !st.ok()) leaks.push_back(std::string(st.message()));
    dir_.clear();
    return leaks;
  }

 private:
  bool Ping() const {
    auto conn = gantry::ConnectUnixSocket(socket());
    if (!conn.ok()) return false;
    std::string request = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
    if (::write(conn->get(), request.data(), request.size()) != ssize_t(request.size()))
      return false;
    std::string response;
    char buf[1024];
    ssize_t n;
    while ((n = ::read(conn->get(), buf, sizeof buf)) > 0) response.append(buf, n);
    return absl::StartsWith(response, "HTTP/1.") && absl::StrContains(response, " 200 ") &&
           absl::EndsWith(response, "OK");
  }

  std::string dir_;
  std::string cgroup_parent_;
  std::vector<std::string> env_;
  std::vector<std::string> host_paths_to_remove_;
  pid_t dockerd_ = -1;
};

// One dockerd for the whole run, started on first use, the busybox fixture
// image loaded. The last test case shuts it down and checks what it left.
struct SharedDocker {
  std::unique_ptr<PrivateDocker> docker;
  std::string error;  // why it could not be started
  bool shut_down = false;
};

SharedDocker& Shared() {
  static SharedDocker shared;
  return shared;
}

PrivateDocker& Docker() {
  SharedDocker& s = Shared();
  REQUIRE_FALSE(s.shut_down);
  if (!s.docker && s.error.empty()) {
    // Not a skip: packaging/deps.sh installs docker.io with the other test deps.
    if (::access(kDockerd, X_OK) != 0 || ::access(kDocker, X_OK) != 0) {
      s.error = absl::StrCat(kDockerd, " or ", kDocker,
                             " is missing: docker.io is not installed; run packaging/deps.sh");
    } else if (::access(kOcirun, X_OK) != 0) {
      s.error = absl::StrCat(kOcirun, " is missing: build the ocirun target");
    } else {
      REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
      s.docker = std::make_unique<PrivateDocker>();
      s.error = s.docker->Start();
      if (s.error.empty()) {
        auto load = s.docker->Cli({"load", "-i", kImageArchive});
        if (load.exit_code != 0)
          s.error = Describe(s.docker->CliArgv({"load", "-i", kImageArchive}), load);
      }
    }
  }
  INFO(s.error);
  REQUIRE(s.error.empty());
  return *s.docker;
}

// `docker run <kRunFlags> <args...>`.
std::vector<std::string> RunArgs(const std::vector<std::string>& args) {
  std::vector<std::string> out = {"run"};
  out.insert(out.end(), kRunFlags.begin(), kRunFlags.end());
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

// Runs `docker args...`, REQUIREs it succeeded, returns its stdout.
std::string DockerOk(const std::vector<std::string>& args) {
  auto& docker = Docker();
  auto r = docker.Cli(args);
  INFO(Describe(docker.CliArgv(args), r));
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// A detached container, removed with `docker rm -f` when it goes out of scope.
class DetachedContainer {
 public:
  DetachedContainer(const std::string& name, const std::vector<std::string>& args) : name_(name) {
    std::vector<std::string> run = {"-d", "--name", name};
    run.insert(run.end(), args.begin(), args.end());
    DockerOk(RunArgs(run));
  }
  ~DetachedContainer() {
    if (auto& docker = Shared().docker) docker->Cli({"rm", "-f", name_});
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

std::string Inspect(const std::string& name, const std::string& format) {
  return std::string(absl::StripAsciiWhitespace(DockerOk({"inspect", "-f", format, name})));
}

// `docker run --rm ... busybox sh -c script`: the result (not REQUIREd).
ProcessResult RunScript(const std::vector<std::string>& flags, const std::string& script) {
  std::vector<std::string> args = {"--rm"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"busybox", "sh", "-c", script});
  return Docker().Cli(RunArgs(args));
}

// The command succeeded and printed exactly `expected`.
void CheckOutput(const ProcessResult& r, const std::string& expected) {
  INFO("exit code " << r.exit_code << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == expected);
}

}  // namespace

TEST_CASE("docker run --rm prints the container's output", "[docker]") {
  CheckOutput(Docker().Cli(RunArgs({"--rm", "busybox", "echo", "hello"})), "hello\n");
}

TEST_CASE("docker run exits with the container's exit code", "[docker]") {
  auto r = RunScript({}, "exit 3");
  INFO(r.err);
  CHECK(r.exit_code == 3);
}

TEST_CASE("docker logs shows a detached container's stdout and stderr", "[docker]") {
  DetachedContainer c("gantry-logs", {"busybox", "sh", "-c", "echo to-stdout; echo to-stderr >&2"});
  CHECK(absl::StripAsciiWhitespace(DockerOk({"wait", c.name()})) == "0");
  auto r = Docker().Cli({"logs", c.name()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "to-stdout\n");
  CHECK(r.err == "to-stderr\n");
}

TEST_CASE("docker run -t gives the container a terminal", "[docker]") {
  // The docker CLI's own stdin is /dev/null; -t without -i is allowed then.
  auto r = RunScript({"-t"}, "test -t 0 && test -t 1 && echo on-a-tty");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(absl::StrContains(r.out, "on-a-tty\r\n"));
}

TEST_CASE("docker exec runs processes in a running container", "[docker]") {
  DetachedContainer c("gantry-exec", {"busybox", "sleep", "300"});
  auto& docker = Docker();

  auto plain =
      docker.Cli({"exec", c.name(), "sh", "-c", "echo in-exec; test -t 1 || echo no-tty; exit 4"});
  INFO(Describe({"docker exec"}, plain));
  CHECK(plain.exit_code == 4);
  CHECK(plain.out == "in-exec\nno-tty\n");

  auto tty = docker.Cli({"exec", "-t", c.name(), "sh", "-c", "test -t 1 && echo exec-tty"});
  INFO(Describe({"docker exec -t"}, tty));
  CHECK(tty.exit_code == 0);
  CHECK(absl::StrContains(tty.out, "exec-tty\r\n"));

  // Each exec ran in the container's namespaces: it sees the container's init.
  CHECK(absl::StrContains(DockerOk({"exec", c.name(), "cat", "/proc/1/cmdline"}), "sleep"));
}

TEST_CASE("docker top lists the container's processes", "[docker]") {
  DetachedContainer c("gantry-top", {"busybox", "sleep", "301"});
  CHECK(absl::StrContains(DockerOk({"top", c.name()}), "sleep 301"));
}

TEST_CASE("docker stats reads the container's cgroups", "[docker]") {
  DetachedContainer c("gantry-stats", {"-m", "64m", "busybox", "sleep", "300"});
  std::string out =
      DockerOk({"stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", c.name()});
  INFO(out);
  std::vector<std::string> fields = absl::StrSplit(absl::StripAsciiWhitespace(out), ' ');
  REQUIRE(fields.size() == 5);  // name, usage, "/", limit, pids
  CHECK(fields[0] == c.name());
  CHECK(fields[1] != "0B");
  CHECK(fields[3] == "64MiB");
  CHECK(fields[4] == "1");
}

TEST_CASE("docker pause and unpause freeze and thaw the container", "[docker]") {
  DetachedContainer c("gantry-pause", {"busybox", "sleep", "300"});
  DockerOk({"pause", c.name()});
  CHECK(Inspect(c.name(), "{{.State.Paused}}") == "true");
  CHECK(Inspect(c.name(), "{{.State.Status}}") == "paused");
  DockerOk({"unpause", c.name()});
  CHECK(Inspect(c.name(), "{{.State.Paused}}") == "false");
  CHECK(DockerOk({"exec", c.name(), "echo", "thawed"}) == "thawed\n");
}

TEST_CASE("docker update changes a running container's limits", "[docker]") {
  DetachedContainer c("gantry-update", {"-m", "32m", "busybox", "sleep", "300"});
  // Docker sends every resource field, 0 for those not given.
  DockerOk({"update", "-m", "48m", "--memory-swap", "96m", "--cpu-shares", "512", "--pids-limit",
            "20", c.name()});
  CHECK(DockerOk({"exec", c.name(), "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                  "/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/pids/pids.max"}) ==
        "50331648\n512\n20\n");
}

TEST_CASE("docker stop signals the container's init", "[docker]") {
  auto& docker = Docker();
  SECTION("a SIGTERM handler lets it exit at once") {
    DetachedContainer c("gantry-stop-trap",
                        {"busybox", "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done"});
    auto start = Clock::now();
    auto r = docker.Cli({"stop", c.name()});
    auto took = Clock::now() - start;
    INFO(Describe({"docker stop"}, r));
    CHECK(r.exit_code == 0);
    CHECK(took < seconds(5));
    CHECK(Inspect(c.name(), "{{.State.Running}} {{.State.ExitCode}}") == "false 7");
  }
  SECTION("without one it is killed when the timeout expires") {
    DetachedContainer c("gantry-stop-kill", {"busybox", "sleep", "300"});
    auto r = docker.Cli({"stop", "-t", "1", c.name()});
    INFO(Describe({"docker stop -t 1"}, r));
    CHECK(r.exit_code == 0);
    CHECK(Inspect(c.name(), "{{.State.Running}} {{.State.ExitCode}}") == "false 137");
  }
}

TEST_CASE("docker run limits apply inside the container", "[docker]") {
  SECTION("-m sets the memory cgroup's limit") {
    CheckOutput(RunScript({"-m", "32m"}, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"),
                "33554432\n");
  }
  SECTION("--pids-limit sets pids.max") {
    CheckOutput(RunScript({"--pids-limit", "10"}, "cat /sys/fs/cgroup/pids/pids.max"), "10\n");
  }
  SECTION("--read-only makes the root filesystem read-only") {
    auto r = RunScript({"--read-only"}, "touch /new-file");
    CHECK(r.exit_code != 0);
    CHECK(absl::StrContains(r.err, "Read-only file system"));
  }
  SECTION("--cap-drop ALL leaves no effective capability") {
    CheckOutput(RunScript({"--cap-drop", "ALL"}, "grep CapEff /proc/self/status"),
                "CapEff:\t0000000000000000\n");
  }
  SECTION("-u runs the process as that user and group") {
    CheckOutput(RunScript({"-u", "1000:1000"}, "id -u; id -g"), "1000\n1000\n");
  }
  SECTION("-h sets the hostname") {
    CheckOutput(RunScript({"-h", "myhost"}, "hostname"), "myhost\n");
  }
}

TEST_CASE("docker's seccomp profile filters the container's system calls", "[docker]") {
  SECTION("the default profile is installed and refuses unshare") {
    CheckOutput(
        RunScript({}, "grep '^Seccomp:' /proc/self/status; unshare -U true || echo refused"),
        "Seccomp:\t2\nrefused\n");
  }
  SECTION("seccomp=unconfined installs none") {
    CheckOutput(
        RunScript({"--security-opt", "seccomp=unconfined"}, "grep '^Seccomp:' /proc/self/status"),
        "Seccomp:\t0\n");
  }
}

// Declared last: Catch2 runs test cases in declaration order.
TEST_CASE("the docker stack leaves no process, mount or cgroup behind", "[docker]") {
  std::string cgroup_parent = Docker().cgroup_parent();
  std::vector<std::string> leaks = Shared().docker->Shutdown();
  Shared().shut_down = true;
  INFO(absl::StrJoin(leaks, "\n"));
  CHECK(leaks.empty());
  CHECK(LiveChildren().empty());
  for (const auto& hierarchy : CgroupHierarchies())
    CHECK_FALSE(fs::exists(hierarchy + cgroup_parent));
}
