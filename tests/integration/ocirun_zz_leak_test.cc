// Runs after the other ocirun integration tests (CTest DEPENDS, RUN_SERIAL):
// whatever they did, the host must be as before — no temporary directory,
// no mount, no cgroup, no process of theirs left. And a full lifecycle leaves
// an empty --root.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/integration/ocirun_test_util.h"

namespace {

using namespace ocirun_test;

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}

std::string Readlink(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// Directories named like our container ids, directly under each cgroup
// hierarchy or under this process's cgroup there (where ids go).
std::vector<std::string> LeakedCgroups() {
  std::vector<std::string> leaked;
  for (const auto& candidate : CandidateCgroupDirs("")) {
    for (const auto& name : Entries(candidate))
      if (absl::StartsWith(name, kIdPrefix)) leaked.push_back(candidate + "/" + name);
  }
  return leaked;
}

// Processes of ours: an ocirun (or a container init that never exec'd), or
// anything whose command line or cgroup names our temporary dirs or ids.
std::vector<std::string> LeakedProcesses() {
  std::vector<std::string> leaked;
  for (const auto& pid : Entries("/proc")) {
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (pid == std::to_string(::getpid())) continue;
    std::string exe = Readlink("/proc/" + pid + "/exe");
    std::string cmdline = ReadFile("/proc/" + pid + "/cmdline").value_or("");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    std::string cgroup = ReadFile("/proc/" + pid + "/cgroup").value_or("");
    if (exe == kOcirun || absl::StrContains(cmdline, "ocirun-itest") ||
        absl::StrContains(cgroup, std::string("/") + kIdPrefix))
      leaked.push_back(absl::StrCat("pid ", pid, " (", cmdline, ") exe ", exe));
  }
  return leaked;
}

}  // namespace

TEST_CASE("the ocirun integration tests left nothing behind", "[ocirun][leak]") {
  std::string tmp_prefix = std::string(kTempPrefix).substr(5);  // "ocirun-itest."
  for (const auto& name : Entries("/tmp")) {
    INFO("temporary directory left: /tmp/" << name);
    CHECK_FALSE(absl::StartsWith(name, tmp_prefix));
  }

  for (const char* mountinfo : {"/proc/self/mountinfo", "/proc/1/mountinfo"}) {
    auto text = ReadFile(mountinfo);
    REQUIRE(text);
    for (const auto& line : LinesContaining(*text, "ocirun-itest")) {
      INFO(mountinfo);
      FAIL_CHECK("mount left behind: " << line);
    }
  }

  for (const auto& cg : LeakedCgroups()) FAIL_CHECK("cgroup left behind: " << cg);

  // A container's process that just died may wait a moment for its reaper
  // (pid 1): only what is still there after a few seconds is a leak.
  std::vector<std::string> leaked;
  Eventually(
      [&] {
        leaked = LeakedProcesses();
        return leaked.empty();
      },
      std::chrono::seconds(5));
  for (const auto& p : leaked) FAIL_CHECK("process left behind: " << p);
}

TEST_CASE("a whole lifecycle leaves an empty --root and no trace on the host", "[ocirun][leak]") {
  std::string root;
  std::string id;
  {
    OcirunEnv env;
    root = env.root();
    env.SetScript("exec sleep 1000");
    id = env.Create();
    REQUIRE(env.Ocirun({"start", id}).exit_code == 0);
    REQUIRE(env.Ocirun({"pause", id}).exit_code == 0);
    REQUIRE(env.Ocirun({"resume", id}).exit_code == 0);
    REQUIRE(env.Ocirun({"kill", id, "KILL"}).exit_code == 0);
    REQUIRE(Eventually([&] { return env.State(id)["status"] == "stopped"; }));
    REQUIRE(env.Ocirun({"delete", id}).exit_code == 0);
    CHECK(Entries(env.root()).empty());
    CHECK(ExistingCgroupDirs(id).empty());
    CHECK(LinesContaining(ReadFile("/proc/self/mountinfo").value_or(""), env.dir()).empty());
  }
  CHECK_FALSE(Exists(root));
}
