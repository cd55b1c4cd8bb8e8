#include "tests/integration/ocirun_test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/unique_fd.h"

namespace ocirun_test {

using gantry::UniqueFd;

namespace {

void Drain(int fd, std::string& into) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return;  // EOF, EAGAIN (a detached container still holds the pipe) or error
  }
}

// Mount points of the host's cgroup hierarchies with their super options
// ("rw,memory", "rw,name=systemd"; "" for cgroup2).
struct CgroupMount {
  std::string mount_point;
  std::vector<std::string> options;  // controllers and name=...; empty for cgroup2
  bool v2 = false;
};

std::vector<CgroupMount> CgroupMounts() {
  std::vector<CgroupMount> out;
  auto mountinfo = ReadFile("/proc/self/mountinfo");
  if (!mountinfo) return out;
  for (absl::string_view line : absl::StrSplit(*mountinfo, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 3 >= f.size()) continue;
    if (f[dash + 1] == "cgroup2") {
      out.push_back({f[4], {}, true});
    } else if (f[dash + 1] == "cgroup") {
      CgroupMount m{f[4], {}, false};
      for (absl::string_view o : absl::StrSplit(f[dash + 3], ','))
        if (o != "rw" && o != "ro") m.options.emplace_back(o);
      out.push_back(std::move(m));
    }
  }
  return out;
}

// The path of `pid`'s cgroup in the hierarchy mounted as `m`.
std::optional<std::string> CgroupPathOf(pid_t pid, const CgroupMount& m) {
  auto text = ReadFile(absl::StrCat("/proc/", pid, "/cgroup"));
  if (!text) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (m.v2) {
      if (f[0] == "0" && f[1].empty()) return f[2];
      continue;
    }
    for (absl::string_view c : absl::StrSplit(f[1], ','))
      for (const auto& o : m.options)
        if (c == o) return f[2];
  }
  return std::nullopt;
}

std::string JoinCgroup(const std::string& mount_point, const std::string& path) {
  std::string out = mount_point;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty()))
    absl::StrAppend(&out, "/", part);
  return out;
}

}  // namespace

std::string Runtime() {
  const char* other = std::getenv("OCIRUN_TEST_RUNTIME");
  return other && *other ? other : kOcirun;
}

Subprocess::Subprocess(const std::vector<std::string>& argv, const std::string& input)
    : what_(argv.empty() ? "" : argv[0]) {
  if (argv.size() > 1) absl::StrAppend(&what_, " ", argv[1]);
  int in[2], out[2], err[2];
  REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
  UniqueFd in_r(in[0]), in_w(in[1]), out_w(out[1]), err_w(err[1]);
  out_.Reset(out[0]);
  err_.Reset(err[0]);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(err_w.get(), 2);
    ::execv(args[0], args.data());
    _exit(127);
  }
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty()) (void)!::write(in_w.get(), input.data(), input.size());
  ::fcntl(out_.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_.get(), F_SETFL, O_NONBLOCK);
}

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

ProcessResult Subprocess::Finish(std::chrono::seconds timeout) {
  ProcessResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    struct pollfd fds[2] = {{out_.get(), POLLIN, 0}, {err_.get(), POLLIN, 0}};
    ::poll(fds, 2, 20);
    Drain(out_.get(), result.out);
    Drain(err_.get(), result.err);
    if (::waitpid(pid_, &status, WNOHANG) == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      FAIL_CHECK("timed out after " << timeout.count() << "s: " << what_
                                    << "\nstderr: " << result.err);
      break;
    }
  }
  pid_ = -1;
  // What a detached container writes later is not ours to wait for.
  Drain(out_.get(), result.out);
  Drain(err_.get(), result.err);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input,
                         std::chrono::seconds timeout) {
  return Subprocess(argv, input).Finish(timeout);
}

OcirunEnv::OcirunEnv() {
  std::string pattern = absl::StrCat(kTempPrefix, "XXXXXX");
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  dir_ = pattern;
  ::chmod(dir_.c_str(), 0755);
  auto cp = RunProcess({"/bin/cp", "-a", kFixtureBundle, bundle()});
  REQUIRE(cp.exit_code == 0);
  auto text = ReadFile(bundle() + "/config.json");
  REQUIRE(text);
  config_ = nlohmann::json::parse(*text);
}

OcirunEnv::~OcirunEnv() {
  // Containers this test made, and any other found under its --root.
  std::set<std::string> ids(ids_.begin(), ids_.end());
  auto listed = RunProcess({Runtime(), "--root", root(), "list", "-q"});
  for (absl::string_view id : absl::StrSplit(listed.out, '\n', absl::SkipEmpty())) ids.emplace(id);
  for (const auto& id : ids) {
    (void)RunProcess({Runtime(), "--root", root(), "delete", "--force", id});
    // What `delete --force` did not remove is a leak: report it, then clean it
    // so one failure does not spoil the machine for the next test.
    for (const auto& cg : ExistingCgroupDirs(id)) {
      FAIL_CHECK("cgroup left behind by container " << id << ": " << cg);
      if (auto procs = ReadFile(cg + "/cgroup.procs")) {
        for (absl::string_view p : absl::StrSplit(*procs, '\n', absl::SkipEmpty())) {
          int pid;
          if (absl::SimpleAtoi(p, &pid)) ::kill(pid, SIGKILL);
        }
      }
      Eventually([&] { return ::rmdir(cg.c_str()) == 0 || errno == ENOENT; });
    }
  }
  if (auto mountinfo = ReadFile("/proc/self/mountinfo")) {
    for (const auto& line : LinesContaining(*mountinfo, dir_)) {
      FAIL_CHECK("mount left behind on the host: " << line);
      std::vector<std::string> f = absl::StrSplit(line, ' ');
      if (f.size() > 4) ::umount2(f[4].c_str(), MNT_DETACH);
    }
  }
  (void)gantry::RemoveTree(dir_);
}

std::string OcirunEnv::MakeDir(const std::string& name) const {
  std::string path = dir_ + "/" + name;
  REQUIRE(gantry::MakeDirs(path, 0755).ok());
  return path;
}

void OcirunEnv::Save() const { WriteFile(bundle() + "/config.json", config_.dump(1, '\t')); }

void OcirunEnv::SetScript(const std::string& script) {
  config_["process"]["args"] = {"sh", "-c", script};
  Save();
}

std::string OcirunEnv::NewId() {
  static std::atomic<int> counter{0};
  std::string id = absl::StrCat(kIdPrefix, ::getpid(), "-", ++counter);
  ids_.push_back(id);
  return id;
}

ProcessResult OcirunEnv::Ocirun(const std::vector<std::string>& args,
                                const std::string& input) const {
  std::vector<std::string> argv = {Runtime(), "--root", root()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, input);
}

ProcessResult OcirunEnv::Run() {
  Save();
  return Ocirun({"run", "--bundle", bundle(), NewId()});
}

std::string OcirunEnv::RunDetached() {
  Save();
  std::string id = NewId();
  auto r = Ocirun({"run", "-d", "--bundle", bundle(), id});
  INFO("ocirun run -d: " << r.err);
  REQUIRE(r.exit_code == 0);
  return id;
}

std::string OcirunEnv::Create(const std::vector<std::string>& extra_args) {
  Save();
  std::string id = NewId();
  std::vector<std::string> args = {"create", "--bundle", bundle()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  args.push_back(id);
  auto r = Ocirun(args);
  INFO("ocirun create: " << r.err);
  REQUIRE(r.exit_code == 0);
  return id;
}

nlohmann::json OcirunEnv::State(const std::string& id) const {
  auto r = Ocirun({"state", id});
  INFO("ocirun state: " << r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  REQUIRE(out);
  out << data;
  out.close();
  REQUIRE(out);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

std::vector<std::string> LinesContaining(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty()))
    if (absl::StrContains(line, needle)) out.emplace_back(line);
  return out;
}

std::vector<std::string> CandidateCgroupDirs(const std::string& id) {
  std::set<std::string> dirs;
  for (const auto& m : CgroupMounts()) {
    dirs.insert(JoinCgroup(m.mount_point, id));
    if (auto own = CgroupPathOf(::getpid(), m))
      dirs.insert(JoinCgroup(m.mount_point, absl::StrCat(*own, "/", id)));
  }
  return {dirs.begin(), dirs.end()};
}

std::vector<std::string> ExistingCgroupDirs(const std::string& id) {
  std::vector<std::string> out;
  for (const auto& d : CandidateCgroupDirs(id))
    if (Exists(d)) out.push_back(d);
  return out;
}

std::string HostCgroupDir(pid_t pid, const std::string& controller) {
  for (const auto& m : CgroupMounts()) {
    bool match = controller.empty() ? m.v2 : false;
    for (const auto& o : m.options) match |= o == controller;
    if (!match) continue;
    auto path = CgroupPathOf(pid, m);
    if (path) return JoinCgroup(m.mount_point, *path);
  }
  return "";
}

bool ProcessAlive(pid_t pid) {
  auto stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat) return false;
  size_t close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] != 'Z';
}

}  // namespace ocirun_test
