// The overlayfs and native snapshotters against the real kernel (root):
// snapshots are prepared, written through their mounts, committed, viewed,
// measured, listed and removed; removal waits for children; overlay mounts
// of 130 layers still mount.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "tests/snapshot_test_util.h"

namespace {

using gantry::ReadFile;
using gantry::WriteFileAtomic;
using gantry::contd::snapshots::Info;
using gantry::contd::snapshots::Kind;
using gantry::contd::snapshots::Mount;
using gantry::contd::snapshots::Snapshotter;
using gantry::testing::LayerDir;
using gantry::testing::ScopedMount;
using gantry::testing::SnapshotterFixture;

std::vector<std::string> Names(const std::vector<Info>& infos) {
  std::vector<std::string> names;
  for (const Info& i : infos) names.push_back(i.name);
  return names;
}

// Prepares `key` on `parent`, writes `file` = `content` into its layer and
// commits it as `name`.
void CommitLayer(Snapshotter& s, const std::string& name, const std::string& parent,
                 const std::string& file, const std::string& content) {
  const std::string key = name + "-active";
  auto mounts = s.Prepare("ns", key, parent, {});
  INFO(mounts.status().message());
  REQUIRE(mounts.ok());
  REQUIRE(WriteFileAtomic(LayerDir(*mounts) + "/" + file, content).ok());
  REQUIRE(s.Commit("ns", name, key, {{"layer", name}}).ok());
}

}  // namespace

TEST_CASE("snapshotters: prepare, commit, view, usage, list, update and remove", "[snapshots]") {
  SnapshotterFixture f;
  const std::string name = GENERATE(as<std::string>{}, "overlayfs", "native");
  Snapshotter& s = f.Get(name);
  INFO("snapshotter " << name);

  // A base layer written through its mount, then committed.
  auto base = s.Prepare("ns", "base-active", "", {{"owner", "test"}});
  REQUIRE(base.ok());
  REQUIRE(base->size() == 1);
  CHECK((*base)[0].type == "bind");
  {
    ScopedMount m(*base, f.dir.path() + "/mnt");
    REQUIRE(WriteFileAtomic(m.path() + "/a.txt", std::string(100000, 'a')).ok());
  }
  CHECK(s.Mounts("ns", "base-active").ok());
  REQUIRE(s.Commit("ns", "base", "base-active", {}).ok());
  auto info = s.Stat("ns", "base");
  REQUIRE(info.ok());
  CHECK(info->kind == Kind::kCommitted);
  CHECK(info->parent.empty());
  CHECK(absl::IsNotFound(s.Stat("ns", "base-active").status()));
  CHECK(absl::IsFailedPrecondition(s.Mounts("ns", "base").status()));
  auto usage = s.GetUsage("ns", "base");
  REQUIRE(usage.ok());
  CHECK(usage->size >= 100000);
  CHECK(usage->inodes == 2);  // fs/ and a.txt

  // A child sees the parent's file and adds its own.
  auto child = s.Prepare("ns", "child", "base", {});
  REQUIRE(child.ok());
  {
    ScopedMount m(*child, f.dir.path() + "/mnt");
    CHECK(*ReadFile(m.path() + "/a.txt") == std::string(100000, 'a'));
    REQUIRE(WriteFileAtomic(m.path() + "/b.txt", "b").ok());
  }
  REQUIRE(s.Commit("ns", "layer2", "child", {}).ok());

  // A view is read-only and shows both layers.
  auto view = s.View("ns", "view", "layer2", {});
  REQUIRE(view.ok());
  {
    ScopedMount m(*view, f.dir.path() + "/mnt");
    CHECK(*ReadFile(m.path() + "/b.txt") == "b");
    CHECK(ReadFile(m.path() + "/a.txt").ok());
    CHECK(::open((m.path() + "/c.txt").c_str(), O_CREAT | O_WRONLY, 0644) == -1);
    CHECK(errno == EROFS);
  }
  CHECK(s.Stat("ns", "view")->kind == Kind::kView);
  CHECK(absl::IsFailedPrecondition(s.Commit("ns", "x", "view", {})));

  // Errors.
  CHECK(absl::IsAlreadyExists(s.Prepare("ns", "view", "", {}).status()));
  CHECK(absl::IsNotFound(s.Prepare("ns", "k", "missing", {}).status()));
  REQUIRE(s.Prepare("ns", "open", "", {}).ok());
  CHECK(absl::IsFailedPrecondition(s.Prepare("ns", "k", "open", {}).status()));
  CHECK(absl::IsInvalidArgument(s.Prepare("ns", "", "", {}).status()));

  // Listing, with filters; other namespaces see nothing.
  CHECK(Names(*s.List("ns", {})) == std::vector<std::string>{"base", "layer2", "open", "view"});
  CHECK(Names(*s.List("ns", {"kind==committed"})) == std::vector<std::string>{"base", "layer2"});
  CHECK(Names(*s.List("ns", {"parent==base"})) == std::vector<std::string>{"layer2"});
  CHECK(s.List("other", {})->empty());
  CHECK(absl::IsNotFound(s.Stat("other", "base").status()));

  // Labels are the only thing Update changes.
  Info update;
  update.name = "base";
  update.labels = {{"a", "1"}, {"b", "2"}};
  CHECK(s.Update("ns", update, {"labels.a"})->labels ==
        std::map<std::string, std::string>{{"a", "1"}});
  CHECK(s.Update("ns", update, {})->labels.size() == 2);
  CHECK(absl::IsInvalidArgument(s.Update("ns", update, {"parent"}).status()));

  // Removal waits for the children.
  const absl::Status refused = s.Remove("ns", "base");
  CHECK(absl::IsFailedPrecondition(refused));
  CHECK(absl::StrContains(refused.message(), "layer2"));
  for (const char* key : {"view", "open", "layer2", "base"}) {
    INFO(key);
    CHECK(s.Remove("ns", key).ok());
  }
  CHECK(s.List("ns", {})->empty());
  CHECK(absl::IsNotFound(s.Remove("ns", "base")));
  // Nothing is left on disk.
  CHECK(s.Cleanup().ok());
  const std::string snapshots_dir = f.dir.path() + "/snapshots/" + name + "/snapshots";
  CHECK(::rmdir(snapshots_dir.c_str()) == 0);
}

TEST_CASE("overlayfs: an active snapshot of 3 layers mounts as overlay and reads through",
          "[snapshots][overlay]") {
  SnapshotterFixture f;
  Snapshotter& s = *f.overlay;
  CommitLayer(s, "l1", "", "f", "1");
  CommitLayer(s, "l2", "l1", "f", "2");
  CommitLayer(s, "l3", "l2", "g", "3");

  auto mounts = s.Prepare("ns", "rootfs", "l3", {});
  REQUIRE(mounts.ok());
  REQUIRE(mounts->size() == 1);
  const Mount& m = mounts->front();
  CHECK(m.type == "overlay");
  CHECK(m.source == "overlay");
  REQUIRE(m.options.size() == 4);
  CHECK(m.options[0] == "index=off");
  CHECK(absl::StartsWith(m.options[1], "lowerdir="));
  CHECK(std::count(m.options[1].begin(), m.options[1].end(), ':') == 2);
  CHECK(absl::StartsWith(m.options[2], "upperdir="));
  CHECK(absl::StartsWith(m.options[3], "workdir="));

  {
    ScopedMount mounted(*mounts, f.dir.path() + "/mnt");
    CHECK(*ReadFile(mounted.path() + "/f") == "2");
    CHECK(*ReadFile(mounted.path() + "/g") == "3");
    REQUIRE(WriteFileAtomic(mounted.path() + "/f", "changed").ok());
  }
  // Writes go to the active snapshot's layer, never to the committed ones.
  CHECK(*ReadFile(LayerDir(*mounts) + "/f") == "changed");
  auto view = s.View("ns", "view", "l3", {});
  REQUIRE(view.ok());
  ScopedMount mounted(*view, f.dir.path() + "/view");
  CHECK(*ReadFile(mounted.path() + "/f") == "2");
}

TEST_CASE("overlayfs: 130 layers exceed the mount data limit and still mount",
          "[snapshots][overlay]") {
  SnapshotterFixture f;
  Snapshotter& s = *f.overlay;
  std::string parent;
  for (int i = 0; i < 130; ++i) {
    const std::string name = absl::StrCat("sha256:layer-", i, std::string(40, 'x'));
    CommitLayer(s, name, parent, absl::StrCat("file-", i), absl::StrCat(i));
    parent = name;
  }
  auto mounts = s.Prepare("ns", "rootfs", parent, {});
  REQUIRE(mounts.ok());
  size_t data = 0;
  for (const std::string& o : mounts->front().options) data += o.size() + 1;
  CHECK(data > static_cast<size_t>(::sysconf(_SC_PAGESIZE)));

  ScopedMount mounted(*mounts, f.dir.path() + "/mnt");
  CHECK(*ReadFile(mounted.path() + "/file-0") == "0");
  CHECK(*ReadFile(mounted.path() + "/file-129") == "129");
  REQUIRE(WriteFileAtomic(mounted.path() + "/new", "x").ok());
  CHECK(*ReadFile(LayerDir(*mounts) + "/new") == "x");
}

TEST_CASE("native: a child is a full copy keeping owners, modes, xattrs, links and devices",
          "[snapshots][native]") {
  SnapshotterFixture f;
  Snapshotter& s = *f.native;
  auto base = s.Prepare("ns", "base-active", "", {});
  REQUIRE(base.ok());
  const std::string dir = LayerDir(*base);
  REQUIRE(WriteFileAtomic(dir + "/suid", "x", 0755).ok());
  REQUIRE(::chown((dir + "/suid").c_str(), 1234, 5678) == 0);
  REQUIRE(::chmod((dir + "/suid").c_str(), 04755) == 0);
  REQUIRE(::setxattr((dir + "/suid").c_str(), "trusted.gantry", "v", 1, 0) == 0);
  REQUIRE(::link((dir + "/suid").c_str(), (dir + "/hard").c_str()) == 0);
  REQUIRE(::symlink("suid", (dir + "/sym").c_str()) == 0);
  REQUIRE(::mknod((dir + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  REQUIRE(::mkfifo((dir + "/fifo").c_str(), 0600) == 0);
  REQUIRE(::mkdir((dir + "/sub").c_str(), 0710) == 0);
  REQUIRE(s.Commit("ns", "base", "base-active", {}).ok());

  auto child = s.Prepare("ns", "child", "base", {});
  REQUIRE(child.ok());
  const std::string copy = LayerDir(*child);
  CHECK(copy != dir);
  struct stat a, b;
  REQUIRE(::lstat((copy + "/suid").c_str(), &a) == 0);
  CHECK(a.st_uid == 1234);
  CHECK(a.st_gid == 5678);
  CHECK((a.st_mode & 07777) == 04755);
  CHECK(a.st_nlink == 2);
  REQUIRE(::lstat((copy + "/hard").c_str(), &b) == 0);
  CHECK(a.st_ino == b.st_ino);
  char value[8] = {};
  CHECK(::getxattr((copy + "/suid").c_str(), "trusted.gantry", value, sizeof value) == 1);
  CHECK(std::string(value) == "v");
  REQUIRE(::lstat((copy + "/null").c_str(), &a) == 0);
  CHECK(S_ISCHR(a.st_mode));
  CHECK(a.st_rdev == makedev(1, 3));
  REQUIRE(::lstat((copy + "/fifo").c_str(), &a) == 0);
  CHECK(S_ISFIFO(a.st_mode));
  REQUIRE(::lstat((copy + "/sym").c_str(), &a) == 0);
  CHECK(S_ISLNK(a.st_mode));
  REQUIRE(::lstat((copy + "/sub").c_str(), &a) == 0);
  CHECK((a.st_mode & 07777) == 0710);
  // The copy is independent of its parent.
  REQUIRE(WriteFileAtomic(copy + "/suid", "changed").ok());
  CHECK(*ReadFile(dir + "/suid") == "x");
}

TEST_CASE("snapshotters: Cleanup removes directories no snapshot owns", "[snapshots]") {
  SnapshotterFixture f;
  auto kept = f.overlay->Prepare("ns", "kept", "", {});
  REQUIRE(kept.ok());
  const std::string snapshots_dir = f.overlay->snapshots_dir();
  REQUIRE(gantry::MakeDirs(snapshots_dir + "/999/fs").ok());
  REQUIRE(gantry::MakeDirs(snapshots_dir + "/new-crashed/fs").ok());
  REQUIRE(f.overlay->Cleanup().ok());
  CHECK(::access((snapshots_dir + "/999").c_str(), F_OK) != 0);
  CHECK(::access((snapshots_dir + "/new-crashed").c_str(), F_OK) != 0);
  CHECK(::access(LayerDir(*kept).c_str(), F_OK) == 0);
}

TEST_CASE("snapshotters: reopening removes what a crash left and keeps the snapshots",
          "[snapshots]") {
  SnapshotterFixture f;
  auto kept = f.native->Prepare("ns", "kept", "", {});
  REQUIRE(kept.ok());
  const std::string snapshots_dir = f.native->snapshots_dir();
  REQUIRE(gantry::MakeDirs(snapshots_dir + "/new-interrupted/fs").ok());
  f.native.reset();
  auto reopened =
      gantry::contd::snapshots::NativeSnapshotter::Open(*f.db, f.dir.path() + "/snapshots/native");
  REQUIRE(reopened.ok());
  CHECK(::access((snapshots_dir + "/new-interrupted").c_str(), F_OK) != 0);
  CHECK((*reopened)->Stat("ns", "kept").ok());
  CHECK(::access(LayerDir(*kept).c_str(), F_OK) == 0);
}
