// cgroup v2 device rules as an eBPF program, against the real kernel: on this
// host's unified hierarchy (hybrid) or the whole cgroup2 tree (pure v2).
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "ocirun/lib/cgroups/device_filter.h"
#include "ocirun/lib/cgroups/layout.h"

namespace cg = ocirun::cgroups;
using ocirun::DeviceRule;

namespace {

// A cgroup v2 directory for the test, removed at the end.
class TestCgroup {
 public:
  TestCgroup() {
    auto layout = cg::Layout::Discover();
    REQUIRE(layout.ok());
    REQUIRE(layout->unified().has_value());
    path_ = absl::StrCat(layout->unified()->mount_point, "/gantry-devfilter-", ::getpid());
    REQUIRE(::mkdir(path_.c_str(), 0755) == 0);
  }
  ~TestCgroup() { ::rmdir(path_.c_str()); }
  const std::string& path() const { return path_; }

  // Runs `probe` in a child moved into this cgroup; returns its exit code.
  int RunInside(int (*probe)()) const {
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open((path_ + "/cgroup.procs").c_str(), O_WRONLY);
      if (fd < 0 || ::write(fd, "0", 1) != 1) _exit(100);
      ::close(fd);
      _exit(probe());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
  }

  int AttachedPrograms() const {
    int fd = ::open(path_.c_str(), O_DIRECTORY | O_RDONLY);
    uint32_t ids[16];
    bpf_attr query{};
    query.query.target_fd = static_cast<uint32_t>(fd);
    query.query.attach_type = BPF_CGROUP_DEVICE;
    query.query.prog_ids = reinterpret_cast<uint64_t>(ids);
    query.query.prog_cnt = 16;
    long rc = ::syscall(SYS_bpf, BPF_PROG_QUERY, &query, sizeof query);
    ::close(fd);
    return rc == 0 ? static_cast<int>(query.query.prog_cnt) : -1;
  }

 private:
  std::string path_;
};

bool Opens(const char* path, int flags) {
  int fd = ::open(path, flags);
  if (fd >= 0) ::close(fd);
  return fd >= 0;
}

std::vector<DeviceRule> Rules(std::initializer_list<DeviceRule> rules) { return rules; }

}  // namespace

TEST_CASE("v2 device filter: the kernel enforces the rules, last match wins", "[devices]") {
  TestCgroup cgroup;
  // As a container gets them: deny everything, then allow some devices.
  auto rules = Rules({{false, "a", std::nullopt, std::nullopt, "rwm"},
                      {true, "c", 1, 3, "rwm"},  // /dev/null
                      {true, "c", 1, 5, "r"}});  // /dev/zero, read only
  REQUIRE(cg::AttachDeviceFilter(cgroup.path(), rules).ok());
  CHECK(cgroup.AttachedPrograms() == 1);

  int rc = cgroup.RunInside([] {
    int bits = 0;
    if (!Opens("/dev/null", O_RDWR)) bits |= 1;
    if (!Opens("/dev/zero", O_RDONLY)) bits |= 2;
    if (Opens("/dev/zero", O_WRONLY)) bits |= 4;  // read-only rule
    if (Opens("/dev/full", O_RDONLY)) bits |= 8;  // denied by the first rule
    return bits;
  });
  CHECK(rc == 0);

  SECTION("update replaces the program rather than stacking another") {
    rules.push_back({true, "c", 1, 7, "rw"});  // /dev/full
    REQUIRE(cg::AttachDeviceFilter(cgroup.path(), rules).ok());
    CHECK(cgroup.AttachedPrograms() == 1);
    CHECK(cgroup.RunInside([] { return Opens("/dev/full", O_RDONLY) ? 0 : 1; }) == 0);
  }
  SECTION("a later deny overrides an earlier allow") {
    rules.push_back({false, "c", 1, 3, "w"});
    REQUIRE(cg::AttachDeviceFilter(cgroup.path(), rules).ok());
    int later = cgroup.RunInside([] {
      return (Opens("/dev/null", O_RDONLY) ? 0 : 1) | (Opens("/dev/null", O_WRONLY) ? 2 : 0);
    });
    CHECK(later == 0);
  }
}

TEST_CASE("v2 device filter: no rules beyond the default allow everything", "[devices]") {
  TestCgroup cgroup;
  REQUIRE(cg::AttachDeviceFilter(cgroup.path(), Rules({{true, "c", 1, 3, "rwm"}})).ok());
  CHECK(cgroup.RunInside([] { return Opens("/dev/full", O_RDONLY) ? 0 : 1; }) == 0);
}
