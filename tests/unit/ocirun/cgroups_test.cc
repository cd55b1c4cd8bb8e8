// Cgroup layout discovery, and the v1/v2 files a container's resources turn
// into, checked against fake cgroupfs trees in a temporary directory.
//
// A plain directory is not a cgroupfs: it grows no knob files, so each test
// creates the ones it expects written; writes do not truncate (as on cgroupfs),
// so a knob is created empty or with a value as long as the one written next;
// and files written several times (cgroup.subtree_control, devices.allow,
// io.max) are FIFOs that record every write.
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/unique_fd.h"
#include "ocirun/lib/cgroups/controllers.h"
#include "ocirun/lib/cgroups/layout.h"
#include "ocirun/lib/cgroups/manager.h"
#include "tests/temp_dir.h"

namespace cg = ocirun::cgroups;
using ocirun::DeviceRule;
using ocirun::Resources;
using ocirun::ThrottleDevice;

namespace {

// This machine: one v1 hierarchy per controller, cgroup2 at
// /sys/fs/cgroup/unified holding only hugetlb.
constexpr const char* kHybridMountinfo =
    "24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr const char* kHybridProcCgroup =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/265f28f4003f56b04147ac26a434cc57\n3:cpuset:/\n2:cpuacct:/\n"
    "1:cpu:/\n0::/\n";

// Debian/Ubuntu's systemd hybrid: cpu and cpuacct share one hierarchy.
constexpr const char* kCombinedMountinfo =
    "25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 "
    "cgroup2 rw,nsdelegate\n"
    "27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup "
    "cgroup rw,xattr,name=systemd\n"
    "30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup "
    "cgroup rw,cpu,cpuacct\n"
    "31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - "
    "cgroup cgroup rw,net_cls,net_prio\n"
    "32 25 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup "
    "cgroup rw,memory\n"
    "33 25 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup "
    "cgroup rw,pids\n";
constexpr const char* kCombinedProcCgroup =
    "12:pids:/user.slice/user-1000.slice/session-2.scope\n"
    "5:memory:/user.slice/user-1000.slice/session-2.scope\n"
    "3:net_cls,net_prio:/\n"
    "2:cpu,cpuacct:/user.slice\n"
    "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
    "0::/user.slice/user-1000.slice/session-2.scope\n";

constexpr const char* kV2Controllers = "cpuset cpu io memory hugetlb pids\n";

std::string Read(const std::string& path) {
  auto text = gantry::ReadFile(path);
  REQUIRE(text.ok());
  return *text;
}

void Put(const std::string& path, const std::string& content = "") {
  REQUIRE(gantry::MakeDirs(path.substr(0, path.rfind('/'))).ok());
  REQUIRE(gantry::WriteFileAtomic(path, content).ok());
}

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A knob that remembers every value written to it, in order and concatenated
// (a FIFO we hold open for reading, so writers never block).
class RecordedKnob {
 public:
  explicit RecordedKnob(const std::string& path) {
    REQUIRE(gantry::MakeDirs(path.substr(0, path.rfind('/'))).ok());
    REQUIRE(::mkfifo(path.c_str(), 0644) == 0);
    fd_.Reset(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    REQUIRE(fd_.valid());
  }
  std::string Writes() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd_.get(), buf, sizeof buf)) > 0) out.append(buf, n);
    return out;
  }

 private:
  gantry::UniqueFd fd_;
};

// Names of the files of a directory closed after writing, in order.
class WriteOrder {
 public:
  explicit WriteOrder(const std::string& dir) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    REQUIRE(fd_.valid());
    REQUIRE(::inotify_add_watch(fd_.get(), dir.c_str(), IN_CLOSE_WRITE) >= 0);
  }
  std::vector<std::string> Files() {
    std::vector<std::string> out;
    alignas(inotify_event) char buf[4096];
    ssize_t n;
    while ((n = ::read(fd_.get(), buf, sizeof buf)) > 0) {
      for (char* p = buf; p < buf + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        if (ev->len) out.emplace_back(ev->name);
        p += sizeof(inotify_event) + ev->len;
      }
    }
    return out;
  }

 private:
  gantry::UniqueFd fd_;
};

std::string CgroupV2Mountinfo(const std::string& mount_point) {
  return absl::StrCat(
      "30 23 0:26 / ", mount_point,
      " rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
}

// A pure v2 host whose unified mount is a temporary directory, with the
// container "/test/c1" and its parent "/test" already there.
struct FakeV2 {
  gantry::testing::TempDir tmp{"cgroups"};
  std::string root = tmp.path() + "/unified";
  std::string parent = root + "/test";
  std::string dir = parent + "/c1";
  RecordedKnob root_subtree{root + "/cgroup.subtree_control"};
  RecordedKnob parent_subtree{parent + "/cgroup.subtree_control"};
  RecordedKnob io_max{dir + "/io.max"};
  cg::Layout layout;

  FakeV2() {
    Put(root + "/cgroup.controllers", kV2Controllers);
    Put(parent + "/cgroup.controllers", kV2Controllers);
    for (const char* knob :
         {"cgroup.controllers", "cgroup.procs", "cgroup.freeze", "cgroup.events", "memory.max",
          "memory.swap.max", "memory.low", "memory.high", "cpu.weight", "cpu.max", "cpuset.cpus",
          "cpuset.mems", "pids.max", "io.weight", "hugetlb.2MB.max"})
      Put(dir + "/" + knob);
    auto parsed = cg::Layout::Parse(CgroupV2Mountinfo(root), "0::/\n", kV2Controllers);
    REQUIRE(parsed.ok());
    layout = *parsed;
  }
  std::string Knob(const std::string& file) const { return Read(dir + "/" + file); }
};

// A pure v1 host: one temporary directory per hierarchy (cpu and cpuacct
// together), with the container "/test/c1" in each.
struct FakeV1 {
  gantry::testing::TempDir tmp{"cgroups"};
  std::string root = tmp.path();
  RecordedKnob devices_allow{Dir("devices") + "/devices.allow"};
  RecordedKnob devices_deny{Dir("devices") + "/devices.deny"};
  cg::Layout layout;

  FakeV1() {
    std::string mountinfo;
    int id = 40;
    for (const char* h :
         {"cpu,cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb"}) {
      ++id;
      absl::StrAppend(&mountinfo, id, " 31 0:", id, " / ", root, "/", h,
                      " rw,nosuid,nodev,noexec,relatime shared:", id, " - cgroup cgroup rw,", h,
                      "\n");
      Put(absl::StrCat(root, "/", h, "/test/c1/cgroup.procs"));
    }
    Put(root + "/cpuset/cpuset.cpus", "0-3");
    Put(root + "/cpuset/cpuset.mems", "0");
    for (const char* knob : {"cpuset/test/cpuset.cpus", "cpuset/test/cpuset.mems",
                             "cpuset/test/c1/cpuset.cpus", "cpuset/test/c1/cpuset.mems"})
      Put(root + "/" + knob);
    for (const char* knob : {"memory.limit_in_bytes", "memory.soft_limit_in_bytes",
                             "memory.swappiness", "memory.oom_control"})
      Put(Dir("memory") + "/" + knob);
    // Swap accounting on, no limit yet; values as long as those the tests write.
    Put(Dir("memory") + "/memory.memsw.limit_in_bytes", "000000000");
    for (const char* knob : {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"})
      Put(Dir("cpu") + "/" + knob);
    Put(Dir("pids") + "/pids.max");
    Put(Dir("freezer") + "/freezer.state", "THAWED");
    for (const char* knob :
         {"blkio.weight", "blkio.throttle.read_bps_device", "blkio.throttle.write_iops_device"})
      Put(Dir("blkio") + "/" + knob);
    Put(Dir("hugetlb") + "/hugetlb.2MB.limit_in_bytes");
    auto parsed = cg::Layout::Parse(mountinfo, "", "");
    REQUIRE(parsed.ok());
    layout = *parsed;
  }
  std::string Dir(const std::string& hierarchy) const {
    return absl::StrCat(root, "/", hierarchy == "cpu" ? "cpu,cpuacct" : hierarchy, "/test/c1");
  }
  std::string Knob(const std::string& hierarchy, const std::string& file) const {
    return Read(Dir(hierarchy) + "/" + file);
  }
};

Resources::Memory Memory(int64_t limit, std::optional<int64_t> swap = std::nullopt) {
  Resources::Memory m;
  m.limit = limit;
  m.swap = swap;
  return m;
}

ocirun::Device DeviceNode(char type, const char* path, int64_t major, int64_t minor) {
  ocirun::Device d;
  d.type = type;
  d.path = path;
  d.major = major;
  d.minor = minor;
  return d;
}

}  // namespace

// --- Layout -----------------------------------------------------------------

TEST_CASE("a hybrid host keeps v1 controllers in their hierarchies and the rest in cgroup2",
          "[cgroups][layout]") {
  auto layout = cg::Layout::Parse(kHybridMountinfo, kHybridProcCgroup, "hugetlb\n");
  REQUIRE(layout.ok());

  const cg::Hierarchy* memory = layout->Find("memory");
  REQUIRE(memory);
  CHECK(memory->mount_point == "/sys/fs/cgroup/memory");
  CHECK(memory->version == cg::Version::kV1);
  CHECK(memory->own_path == "/process_api/265f28f4003f56b04147ac26a434cc57");
  for (const char* c : {"cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "pids"}) {
    INFO(c);
    REQUIRE(layout->Find(c));
    CHECK(layout->Find(c)->mount_point == absl::StrCat("/sys/fs/cgroup/", c));
    CHECK(layout->Find(c)->version == cg::Version::kV1);
    CHECK(layout->Find(c)->own_path == "/");
  }

  const cg::Hierarchy* hugetlb = layout->Find("hugetlb");
  REQUIRE(hugetlb);
  CHECK(hugetlb->mount_point == "/sys/fs/cgroup/unified");
  CHECK(hugetlb->version == cg::Version::kV2);
  REQUIRE(layout->unified());
  CHECK(layout->unified()->mount_point == "/sys/fs/cgroup/unified");
  CHECK(layout->unified()->own_path == "/");

  // name=systemd is a named hierarchy with no controller: joined, as runc does.
  const cg::Hierarchy* named = layout->Find("name=systemd");
  REQUIRE(named);
  CHECK(named->mount_point == "/sys/fs/cgroup/systemd");
  CHECK(named->version == cg::Version::kV1);
  CHECK(layout->Find("systemd") == nullptr);
  CHECK(layout->Find("net_cls") == nullptr);
  CHECK_FALSE(layout->IsPureV2());
}

TEST_CASE("cpu and cpuacct mounted together share one hierarchy", "[cgroups][layout]") {
  auto layout = cg::Layout::Parse(kCombinedMountinfo, kCombinedProcCgroup, "");
  REQUIRE(layout.ok());
  for (const char* c : {"cpu", "cpuacct"}) {
    INFO(c);
    REQUIRE(layout->Find(c));
    CHECK(layout->Find(c)->mount_point == "/sys/fs/cgroup/cpu,cpuacct");
    CHECK(layout->Find(c)->own_path == "/user.slice");
  }
  REQUIRE(layout->Find("net_prio"));
  CHECK(layout->Find("net_prio")->mount_point == "/sys/fs/cgroup/net_cls,net_prio");
  CHECK(layout->Find("memory")->own_path == "/user.slice/user-1000.slice/session-2.scope");
  // An empty unified root still gives cgroup2's built-in freezer a home, but
  // never takes over a controller that has a v1 hierarchy.
  REQUIRE(layout->unified());
  CHECK(layout->unified()->own_path == "/user.slice/user-1000.slice/session-2.scope");
  CHECK(layout->Find("freezer")->version == cg::Version::kV2);
  CHECK(layout->Find("memory")->version == cg::Version::kV1);
  CHECK(layout->Find("hugetlb") == nullptr);

  SECTION("the container gets one directory for both, made once") {
    auto m = cg::Manager::ForContainer(*layout, "/docker/abc", "abc");
    CHECK(m.paths().at("cpu") == "/sys/fs/cgroup/cpu,cpuacct/docker/abc");
    CHECK(m.paths().at("cpuacct") == "/sys/fs/cgroup/cpu,cpuacct/docker/abc");
    CHECK(m.paths().at("") == "/sys/fs/cgroup/unified/docker/abc");
  }
}

TEST_CASE("a pure v2 host has every controller in the unified hierarchy", "[cgroups][layout]") {
  std::string mountinfo =
      "22 27 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
      "26 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
      "rw,nsdelegate,memory_recursiveprot\n";
  auto layout = cg::Layout::Parse(mountinfo, "0::/user.slice/user-1000.slice/session-2.scope\n",
                                  "cpuset cpu io memory hugetlb pids rdma misc\n");
  REQUIRE(layout.ok());
  CHECK(layout->IsPureV2());
  REQUIRE(layout->unified());
  CHECK(layout->unified()->own_path == "/user.slice/user-1000.slice/session-2.scope");
  // io is blkio's v2 name; freezer and devices are built into cgroup2.
  for (const char* c : {"cpuset", "cpu", "blkio", "memory", "hugetlb", "pids", "rdma", "misc",
                        "freezer", "devices"}) {
    INFO(c);
    REQUIRE(layout->Find(c));
    CHECK(layout->Find(c)->mount_point == "/sys/fs/cgroup");
    CHECK(layout->Find(c)->version == cg::Version::kV2);
  }
  CHECK(layout->Find("io") == nullptr);
  CHECK(layout->Find("cpuacct") == nullptr);

  SECTION("cgroupsPath: absolute from the root, relative from our own cgroup, empty is <id>") {
    CHECK(cg::Manager::ForContainer(*layout, "/test/c1", "c1").paths().at("memory") ==
          "/sys/fs/cgroup/test/c1");
    CHECK(cg::Manager::ForContainer(*layout, "c1/x", "c1").paths().at("memory") ==
          "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/c1/x");
    CHECK(cg::Manager::ForContainer(*layout, "", "c1").paths().at("pids") ==
          "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/c1");
  }
}

TEST_CASE("a pure v1 host has no unified hierarchy", "[cgroups][layout]") {
  std::string mountinfo =
      "30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup "
      "cgroup rw,memory\n"
      "31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - "
      "cgroup cgroup rw,cpu,cpuacct\n"
      "32 25 0:28 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:14 - cgroup "
      "cgroup rw,freezer\n";
  auto layout = cg::Layout::Parse(mountinfo, "4:memory:/user\n3:cpu,cpuacct:/\n2:freezer:/\n", "");
  REQUIRE(layout.ok());
  CHECK_FALSE(layout->unified());
  CHECK_FALSE(layout->IsPureV2());
  CHECK(layout->controllers().size() == 4);
  CHECK(layout->Find("memory")->own_path == "/user");
  CHECK(layout->Find("cpuacct")->mount_point == "/sys/fs/cgroup/cpu,cpuacct");
  CHECK(layout->Find("pids") == nullptr);

  auto m = cg::Manager::ForContainer(*layout, "c1", "c1");
  CHECK(m.paths().at("memory") == "/sys/fs/cgroup/memory/user/c1");
  CHECK(m.paths().count("") == 0);
}

TEST_CASE("own cgroups are taken relative to what a mount shows", "[cgroups][layout]") {
  // Inside a container without a cgroup namespace: the mount is the host's
  // /docker/abc subtree, and /proc/self/cgroup still names the full path.
  std::string mountinfo =
      "700 690 0:32 /docker/abc /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime - cgroup "
      "cgroup rw,memory\n";
  auto layout = cg::Layout::Parse(mountinfo, "4:memory:/docker/abc/init\n", "");
  REQUIRE(layout.ok());
  CHECK(layout->Find("memory")->own_path == "/init");
  CHECK(cg::Manager::ForContainer(*layout, "c1", "c1").paths().at("memory") ==
        "/sys/fs/cgroup/memory/init/c1");
}

TEST_CASE("a host without cgroup filesystems is an error", "[cgroups][layout]") {
  auto layout = cg::Layout::Parse(
      "24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n", "0::/\n",
      "");
  REQUIRE_FALSE(layout.ok());
  CHECK(layout.status().message() == "cgroups: no cgroup filesystem is mounted");
}

// --- cgroup v2 --------------------------------------------------------------

TEST_CASE("v2: Create enables every available controller in each ancestor", "[cgroups][v2]") {
  FakeV2 fake;
  auto m = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1");
  for (const auto& [controller, path] : m.paths()) {
    INFO(controller);
    CHECK(path == fake.dir);
    CHECK(m.DirFor(controller)->version == cg::Version::kV2);
  }
  REQUIRE(m.Create().ok());

  // One write per controller, never "+freezer" or "+devices" (built in).
  std::string enabled = "+cpuset+cpu+io+memory+hugetlb+pids";
  CHECK(fake.root_subtree.Writes() == enabled);
  CHECK(fake.parent_subtree.Writes() == enabled);

  SECTION("and makes directories that do not exist yet") {
    auto m2 = cg::Manager::ForContainer(fake.layout, "/test/c2", "c2");
    REQUIRE(m2.Create().ok());
    CHECK(IsDir(fake.parent + "/c2"));
    CHECK(m2.Destroy().ok());
    CHECK_FALSE(IsDir(fake.parent + "/c2"));
    CHECK(m2.Destroy().ok());  // already gone is fine
  }
}

TEST_CASE("v2: resources become the unified hierarchy's files", "[cgroups][v2]") {
  FakeV2 fake;
  auto m = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1");
  REQUIRE(m.Create().ok());

  Resources r;
  r.memory = Memory(256 << 20, int64_t{512} << 20);
  r.memory.reservation = 128 << 20;
  r.cpu.shares = 1024;
  r.cpu.quota = 50000;
  r.cpu.period = 200000;
  r.cpu.cpus = "0-1";
  r.cpu.mems = "0";
  r.pids_limit = 100;
  r.block_io.weight = 500;
  r.block_io.throttle_read_bps = {ThrottleDevice{8, 0, 1048576}};
  r.block_io.throttle_write_iops = {ThrottleDevice{8, 16, 100}};
  r.hugepage_limits = {{"2MB", 1073741824}};
  REQUIRE(m.SetResources(r).ok());

  CHECK(fake.Knob("memory.max") == "268435456");
  CHECK(fake.Knob("memory.swap.max") == "268435456");  // memory+swap minus memory
  CHECK(fake.Knob("memory.low") == "134217728");
  CHECK(fake.Knob("cpu.weight") == "39");  // 1 + ((1024 - 2) * 9999) / 262142
  CHECK(fake.Knob("cpu.max") == "50000 200000");
  CHECK(fake.Knob("cpuset.cpus") == "0-1");
  CHECK(fake.Knob("cpuset.mems") == "0");
  CHECK(fake.Knob("pids.max") == "100");
  CHECK(fake.Knob("io.weight") == "default 4950");  // 1 + (500 - 10) * 9999 / 990
  CHECK(fake.io_max.Writes() ==
        "8:0 rbps=1048576"
        "8:16 wiops=100");
  CHECK(fake.Knob("hugetlb.2MB.max") == "1073741824");
}

TEST_CASE("v2: unlimited values and conversions", "[cgroups][v2]") {
  FakeV2 fake;
  auto m = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1");
  Resources r;

  SECTION("-1 is max; swap equal to the limit means no swap") {
    r.memory = Memory(-1, -1);
    r.memory.reservation = -1;
    REQUIRE(m.SetResources(r).ok());
    CHECK(fake.Knob("memory.max") == "max");
    CHECK(fake.Knob("memory.swap.max") == "max");
    CHECK(fake.Knob("memory.low") == "max");
  }
  SECTION("swap equal to the limit means no swap") {
    r.memory = Memory(1 << 20, 1 << 20);
    REQUIRE(m.SetResources(r).ok());
    CHECK(fake.Knob("memory.swap.max") == "0");
  }
  SECTION("swap below the limit is refused, even by one byte") {
    r.memory = Memory(1 << 20, (1 << 20) - 1);
    auto st = m.SetResources(r);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message() == "linux.resources.memory.swap: must be at least memory.limit");
    CHECK(fake.Knob("memory.swap.max").empty());
  }
  SECTION("a quota of -1, or none with a period, is max; no period is 100000") {
    r.cpu.quota = -1;
    REQUIRE(m.SetResources(r).ok());
    CHECK(fake.Knob("cpu.max") == "max 100000");
  }
  SECTION("a quota without a period gets the default period") {
    r.cpu.quota = 20000;
    REQUIRE(m.SetResources(r).ok());
    CHECK(fake.Knob("cpu.max") == "20000 100000");
  }
  SECTION("shares map onto weights like runc, clamped to v1's range") {
    for (auto [shares, weight] : std::vector<std::pair<uint64_t, std::string>>{
             {2, "1"}, {1, "1"}, {262144, "10000"}, {1000000, "10000"}}) {
      FakeV2 f;
      auto mm = cg::Manager::ForContainer(f.layout, "/test/c1", "c1");
      Resources rr;
      rr.cpu.shares = shares;
      INFO("shares " << shares);
      REQUIRE(mm.SetResources(rr).ok());
      CHECK(f.Knob("cpu.weight") == weight);
    }
  }
  SECTION("pids 0 and -1 are max") {
    r.pids_limit = 0;
    REQUIRE(m.SetResources(r).ok());
    CHECK(fake.Knob("pids.max") == "max");
    FakeV2 f;
    r.pids_limit = -1;
    REQUIRE(cg::Manager::ForContainer(f.layout, "/test/c1", "c1").SetResources(r).ok());
    CHECK(f.Knob("pids.max") == "max");
  }
  SECTION("unified entries are written as given") {
    r.unified = {{"memory.high", "1073741824"}};
    REQUIRE(m.SetResources(r).ok());
    CHECK(fake.Knob("memory.high") == "1073741824");
  }
  SECTION("device rules become an eBPF program, which a fake directory cannot take") {
    // The kernel's side is tested in tests/integration/ocirun_device_filter_test.cc.
    r.devices = cg::EffectiveDeviceRules({DeviceRule{}}, {});
    auto st = m.SetResources(r);
    CHECK_FALSE(st.ok());
    CHECK_THAT(std::string(st.message()), Catch::Contains("eBPF device filter"));
  }
}

TEST_CASE("v2: errors name the field or the file", "[cgroups][v2]") {
  FakeV2 fake;
  Resources r;

  SECTION("a controller the host lacks") {
    auto layout = cg::Layout::Parse(CgroupV2Mountinfo(fake.root), "0::/\n", "cpu memory\n");
    REQUIRE(layout.ok());
    r.pids_limit = 10;
    auto st = cg::Manager::ForContainer(*layout, "/test/c1", "c1").SetResources(r);
    CHECK(st.message() == "linux.resources.pids: the host has no pids cgroup controller");
  }
  SECTION("a knob the kernel does not have") {
    r.hugepage_limits = {{"1GB", 1073741824}};
    auto st = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1").SetResources(r);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(std::string(st.message()),
               Catch::StartsWith("cgroup: set hugetlb.1GB.max to \"1073741824\": open " + fake.dir +
                                 "/hugetlb.1GB.max"));
  }
  SECTION("real-time limits") {
    r.cpu.realtime_runtime = 1000;
    auto st = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1").SetResources(r);
    CHECK(st.message() == "linux.resources.cpu.realtimeRuntime: not supported with cgroup v2");
  }
}

TEST_CASE("v2: processes, freezing and statistics", "[cgroups][v2]") {
  FakeV2 fake;
  auto m = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1");

  SECTION("a process is added once, to the one directory") {
    REQUIRE(m.AddProcess(4242).ok());
    CHECK(fake.Knob("cgroup.procs") == "4242");
  }
  SECTION("Pids lists cgroup.procs") {
    Put(fake.dir + "/cgroup.procs", "12\n345\n");
    auto pids = m.Pids();
    REQUIRE(pids.ok());
    CHECK(*pids == std::vector<pid_t>{12, 345});
  }
  SECTION("freezing writes cgroup.freeze and waits for cgroup.events") {
    Put(fake.dir + "/cgroup.freeze", "0");
    Put(fake.dir + "/cgroup.events", "populated 1\nfrozen 1\n");
    REQUIRE(m.Freeze().ok());
    CHECK(fake.Knob("cgroup.freeze") == "1");
    CHECK(*m.IsFrozen());

    Put(fake.dir + "/cgroup.events", "populated 1\nfrozen 0\n");
    REQUIRE(m.Thaw().ok());
    CHECK(fake.Knob("cgroup.freeze") == "0");
    CHECK_FALSE(*m.IsFrozen());
  }
  SECTION("freezing fails when the tasks never stop") {
    Put(fake.dir + "/cgroup.events", "populated 1\nfrozen 0\n");
    auto st = m.Freeze();
    CHECK(st.code() == absl::StatusCode::kDeadlineExceeded);
  }
  SECTION("Stats has runc's shape") {
    Put(fake.dir + "/memory.current", "1048576\n");
    Put(fake.dir + "/memory.max", "max\n");
    Put(fake.dir + "/memory.peak", "2097152\n");
    Put(fake.dir + "/memory.stat", "anon 4096\nfile 8192\n");
    Put(fake.dir + "/cpu.stat",
        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\n"
        "throttled_usec 300\n");
    Put(fake.dir + "/pids.current", "3\n");
    Put(fake.dir + "/pids.max", "100\n");
    Put(fake.dir + "/io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
    Put(fake.dir + "/hugetlb.2MB.current", "2097152\n");
    Put(fake.dir + "/hugetlb.2MB.events", "max 1\n");
    Put(fake.dir + "/hugetlb.2MB.rsvd.current", "0\n");
    auto expected = nlohmann::json::parse(R"({
      "memory": {"usage": {"usage": 1048576, "limit": 0, "max": 2097152, "failcnt": 0},
                 "raw": {"anon": 4096, "file": 8192}},
      "cpu": {"usage": {"total": 1500000},
              "throttling": {"periods": 10, "throttledPeriods": 2, "throttledTime": 300000}},
      "pids": {"current": 3, "limit": 100},
      "blkio": {"ioServiceBytesRecursive": [{"major": 8, "minor": 0, "op": "Read", "value": 4096},
                                            {"major": 8, "minor": 0, "op": "Write", "value": 8192}],
                "ioServicedRecursive": [{"major": 8, "minor": 0, "op": "Read", "value": 1},
                                        {"major": 8, "minor": 0, "op": "Write", "value": 2}]},
      "hugetlb": {"2MB": {"usage": 2097152, "max": 0, "failcnt": 1}}})");
    CHECK(m.Stats() == expected);
  }
}

// --- cgroup v1 --------------------------------------------------------------

TEST_CASE("v1: Create makes a directory per hierarchy and fills new cpusets", "[cgroups][v1]") {
  FakeV1 fake;
  auto m = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1");
  CHECK(m.paths().at("cpu") == fake.Dir("cpu"));
  CHECK(m.paths().at("cpuacct") == fake.Dir("cpu"));
  CHECK(m.paths().count("") == 0);
  REQUIRE(m.Create().ok());
  // Every level made on the way down inherits its parent's sets, or tasks
  // could not join (ENOSPC).
  CHECK(Read(fake.root + "/cpuset/test/cpuset.cpus") == "0-3");
  CHECK(Read(fake.root + "/cpuset/test/cpuset.mems") == "0");
  CHECK(fake.Knob("cpuset", "cpuset.cpus") == "0-3");
  CHECK(fake.Knob("cpuset", "cpuset.mems") == "0");

  REQUIRE(m.AddProcess(4242).ok());
  for (const char* h :
       {"cpu", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb"})
    CHECK(fake.Knob(h, "cgroup.procs") == "4242");

  SECTION("Destroy removes every directory it made") {
    auto m2 = cg::Manager::ForContainer(fake.layout, "/test/c2", "c2");
    REQUIRE(m2.Create().ok());
    CHECK(IsDir(fake.root + "/memory/test/c2"));
    CHECK(IsDir(fake.root + "/cpu,cpuacct/test/c2"));
    REQUIRE(m2.Destroy().ok());
    CHECK_FALSE(IsDir(fake.root + "/memory/test/c2"));
    CHECK_FALSE(IsDir(fake.root + "/cpu,cpuacct/test/c2"));
  }
}

TEST_CASE("v1: resources become each controller's files", "[cgroups][v1]") {
  FakeV1 fake;
  auto m = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1");
  Resources r;
  r.memory = Memory(268435456, 536870912);
  r.memory.reservation = 134217728;
  r.memory.swappiness = 0;
  r.memory.disable_oom_killer = true;
  r.cpu.shares = 512;
  r.cpu.quota = 50000;
  r.cpu.period = 100000;
  r.cpu.cpus = "1";
  r.pids_limit = -1;
  r.block_io.weight = 500;
  r.block_io.throttle_read_bps = {ThrottleDevice{8, 0, 1048576}};
  r.block_io.throttle_write_iops = {ThrottleDevice{8, 16, 100}};
  r.hugepage_limits = {{"2MB", 1073741824}};
  REQUIRE(m.SetResources(r).ok());

  CHECK(fake.Knob("memory", "memory.limit_in_bytes") == "268435456");
  CHECK(fake.Knob("memory", "memory.memsw.limit_in_bytes") == "536870912");  // memory+swap as is
  CHECK(fake.Knob("memory", "memory.soft_limit_in_bytes") == "134217728");
  CHECK(fake.Knob("memory", "memory.swappiness") == "0");
  CHECK(fake.Knob("memory", "memory.oom_control") == "1");
  CHECK(fake.Knob("cpu", "cpu.shares") == "512");
  CHECK(fake.Knob("cpu", "cpu.cfs_quota_us") == "50000");
  CHECK(fake.Knob("cpu", "cpu.cfs_period_us") == "100000");
  CHECK(fake.Knob("cpuset", "cpuset.cpus") == "1");
  CHECK(fake.Knob("pids", "pids.max") == "max");
  CHECK(fake.Knob("blkio", "blkio.weight") == "500");
  CHECK(fake.Knob("blkio", "blkio.throttle.read_bps_device") == "8:0 1048576");
  CHECK(fake.Knob("blkio", "blkio.throttle.write_iops_device") == "8:16 100");
  CHECK(fake.Knob("hugetlb", "hugetlb.2MB.limit_in_bytes") == "1073741824");

  SECTION("zeros change nothing: runc reads 0 as unset, and Docker sends 0 for what is not given") {
    Resources zeros;
    zeros.memory = Memory(0, 0);
    zeros.memory.reservation = 0;
    zeros.cpu.shares = 0;
    zeros.cpu.quota = 0;
    zeros.cpu.period = 0;
    zeros.block_io.weight = 0;
    REQUIRE(m.SetResources(zeros).ok());
    CHECK(fake.Knob("memory", "memory.limit_in_bytes") == "268435456");
    CHECK(fake.Knob("memory", "memory.memsw.limit_in_bytes") == "536870912");
    CHECK(fake.Knob("memory", "memory.soft_limit_in_bytes") == "134217728");
    CHECK(fake.Knob("cpu", "cpu.shares") == "512");
    CHECK(fake.Knob("cpu", "cpu.cfs_quota_us") == "50000");
    CHECK(fake.Knob("cpu", "cpu.cfs_period_us") == "100000");
    CHECK(fake.Knob("blkio", "blkio.weight") == "500");
  }
  SECTION("swappiness above 100 is refused") {
    Resources bad;
    bad.memory.swappiness = 101;
    CHECK(m.SetResources(bad).message() ==
          "linux.resources.memory.swappiness: 101 is out of range 0-100");
  }
}

TEST_CASE("v1: memory and memory+swap limits are written in an order the kernel accepts",
          "[cgroups][v1]") {
  // The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at
  // every step: raising writes memsw first, lowering writes the limit first.
  FakeV1 fake;
  std::string dir = fake.Dir("memory");
  auto m = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1");
  Resources r;

  SECTION("raising") {
    Put(dir + "/memory.limit_in_bytes", "104857600");
    Put(dir + "/memory.memsw.limit_in_bytes", "209715200");
    WriteOrder order(dir);
    r.memory = Memory(314572800, 629145600);
    REQUIRE(m.SetResources(r).ok());
    CHECK(order.Files() ==
          std::vector<std::string>{"memory.memsw.limit_in_bytes", "memory.limit_in_bytes"});
    CHECK(fake.Knob("memory", "memory.limit_in_bytes") == "314572800");
    CHECK(fake.Knob("memory", "memory.memsw.limit_in_bytes") == "629145600");
  }
  SECTION("lowering") {
    Put(dir + "/memory.limit_in_bytes", "314572800");
    Put(dir + "/memory.memsw.limit_in_bytes", "629145600");
    WriteOrder order(dir);
    r.memory = Memory(104857600, 209715200);
    REQUIRE(m.SetResources(r).ok());
    CHECK(order.Files() ==
          std::vector<std::string>{"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"});
    CHECK(fake.Knob("memory", "memory.limit_in_bytes") == "104857600");
    CHECK(fake.Knob("memory", "memory.memsw.limit_in_bytes") == "209715200");
  }
  SECTION("lifting the limit lifts memory+swap first") {
    Put(dir + "/memory.limit_in_bytes", "99");
    Put(dir + "/memory.memsw.limit_in_bytes", "99");
    WriteOrder order(dir);
    r.memory = Memory(-1);
    REQUIRE(m.SetResources(r).ok());
    CHECK(order.Files() ==
          std::vector<std::string>{"memory.memsw.limit_in_bytes", "memory.limit_in_bytes"});
    CHECK(fake.Knob("memory", "memory.limit_in_bytes") == "-1");
    CHECK(fake.Knob("memory", "memory.memsw.limit_in_bytes") == "-1");
  }
  SECTION("without swap accounting, only a swap equal to the limit (or -1) is accepted") {
    REQUIRE(::unlink((dir + "/memory.memsw.limit_in_bytes").c_str()) == 0);
    r.memory = Memory(104857600, 104857600);
    CHECK(m.SetResources(r).ok());
    r.memory = Memory(104857600, -1);
    CHECK(m.SetResources(r).ok());
    r.memory = Memory(104857600, 209715200);
    CHECK(m.SetResources(r).message() ==
          "linux.resources.memory.swap: the host's kernel has no swap accounting");
  }
}

TEST_CASE("v1: device rules become devices.deny and devices.allow entries", "[cgroups][v1]") {
  FakeV1 fake;
  auto m = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1");
  WriteOrder order(fake.Dir("devices"));

  // runc's default config.json denies everything; the runtime then allows
  // the devices every container needs and those in linux.devices.
  Resources r;
  r.devices = cg::EffectiveDeviceRules(
      {DeviceRule{false, "a", std::nullopt, std::nullopt, "rwm"},
       DeviceRule{true, "c", 1, 3, "rwm"}},
      {DeviceNode('b', "/dev/sda", 8, 0), DeviceNode('p', "/dev/fifo", 0, 0)});
  REQUIRE(m.SetResources(r).ok());

  CHECK(fake.devices_deny.Writes() == "a");
  std::vector<std::string> allowed = {"c 1:3 rwm", "c *:* m",     "b *:* m",   "c 1:3 rwm",
                                      "c 1:8 rwm", "c 1:7 rwm",   "c 5:0 rwm", "c 1:5 rwm",
                                      "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
                                      "b 8:0 rwm"};
  CHECK(fake.devices_allow.Writes() == absl::StrJoin(allowed, ""));
  // Deny-all comes before the allows, or it would undo them (inotify merges
  // the repeated devices.allow events into one).
  CHECK(order.Files() == std::vector<std::string>{"devices.deny", "devices.allow"});
}

TEST_CASE("v1: freezer.state is written and polled until it settles", "[cgroups][v1]") {
  FakeV1 fake;
  auto m = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1");
  REQUIRE(m.Freeze().ok());
  CHECK(fake.Knob("freezer", "freezer.state") == "FROZEN");
  CHECK(*m.IsFrozen());
  REQUIRE(m.Thaw().ok());
  CHECK(fake.Knob("freezer", "freezer.state") == "THAWED");
  CHECK_FALSE(*m.IsFrozen());

  SECTION("a directory saved in the state is found again by controller") {
    auto reloaded = cg::Manager::FromPaths(m.paths(), fake.layout);
    CHECK(reloaded.DirFor("freezer")->path == fake.Dir("freezer"));
    CHECK(reloaded.DirFor("freezer")->version == cg::Version::kV1);
    CHECK_FALSE(*reloaded.IsFrozen());
  }
}

TEST_CASE("v1: Stats reads the v1 files", "[cgroups][v1]") {
  FakeV1 fake;
  auto m = cg::Manager::ForContainer(fake.layout, "/test/c1", "c1");
  Put(fake.Dir("memory") + "/memory.usage_in_bytes", "1048576\n");
  Put(fake.Dir("memory") + "/memory.limit_in_bytes", "9223372036854771712\n");
  Put(fake.Dir("memory") + "/memory.max_usage_in_bytes", "2097152\n");
  Put(fake.Dir("memory") + "/memory.failcnt", "7\n");
  Put(fake.Dir("memory") + "/memory.stat", "cache 4096\nrss 8192\n");
  Put(fake.Dir("cpu") + "/cpuacct.usage", "123456789\n");
  Put(fake.Dir("pids") + "/pids.current", "2\n");
  Put(fake.Dir("pids") + "/pids.max", "max\n");
  Put(fake.Dir("blkio") + "/blkio.throttle.io_service_bytes_recursive",
      "8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
  Put(fake.Dir("blkio") + "/blkio.throttle.io_serviced_recursive", "8:0 Read 1\nTotal 1\n");
  auto expected = nlohmann::json::parse(R"({
    "memory": {"usage": {"usage": 1048576, "limit": 9223372036854771712, "max": 2097152,
                         "failcnt": 7},
               "raw": {"cache": 4096, "rss": 8192}},
    "cpu": {"usage": {"total": 123456789}, "throttling": {}},
    "pids": {"current": 2, "limit": 0},
    "blkio": {"ioServiceBytesRecursive": [{"major": 8, "minor": 0, "op": "Read", "value": 4096},
                                          {"major": 8, "minor": 0, "op": "Write", "value": 0}],
              "ioServicedRecursive": [{"major": 8, "minor": 0, "op": "Read", "value": 1}]},
    "hugetlb": {}})");
  CHECK(m.Stats() == expected);
}
