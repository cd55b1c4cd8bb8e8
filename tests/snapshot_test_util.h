// Helpers for snapshot tests: a metadata database with both snapshotters in
// a temporary directory, and mounts that are undone when the test ends.
#pragma once

#include <sys/mount.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "common/file_util.h"
#include "common/mount_list.h"
#include "contd/metadata/database.h"
#include "contd/snapshots/native_snapshotter.h"
#include "contd/snapshots/overlay_snapshotter.h"
#include "tests/temp_dir.h"

namespace gantry::testing {

// Mounts `mounts` on <dir>/<name> and detaches them on destruction.
class ScopedMount {
 public:
  ScopedMount(const std::vector<Mount>& mounts, const std::string& target) : target_(target) {
    REQUIRE(MakeDirs(target_).ok());
    const absl::Status mounted = MountAll(mounts, target_);
    INFO(mounted.message());
    REQUIRE(mounted.ok());
  }
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;
  ~ScopedMount() { UnmountAll(target_); }
  const std::string& path() const { return target_; }

 private:
  std::string target_;
};

// Both snapshotters over one database under /tmp/gantry-snap-test-*.
struct SnapshotterFixture {
  TempDir dir{"snap-test"};
  std::unique_ptr<contd::metadata::Database> db;
  std::unique_ptr<contd::snapshots::OverlaySnapshotter> overlay;
  std::unique_ptr<contd::snapshots::NativeSnapshotter> native;

  SnapshotterFixture() {
    auto opened = contd::metadata::Database::Open(dir.path());
    REQUIRE(opened.ok());
    db = std::move(*opened);
    auto o = contd::snapshots::OverlaySnapshotter::Open(*db, dir.path() + "/snapshots/overlayfs");
    REQUIRE(o.ok());
    overlay = std::move(*o);
    auto n = contd::snapshots::NativeSnapshotter::Open(*db, dir.path() + "/snapshots/native");
    REQUIRE(n.ok());
    native = std::move(*n);
  }

  contd::snapshots::Snapshotter& Get(const std::string& name) {
    if (name == "native") return *native;
    return *overlay;
  }
};

// The directory a snapshot's own layer is written to: an overlay's upperdir
// or a bind mount's source.
inline std::string LayerDir(const std::vector<Mount>& mounts) {
  REQUIRE(mounts.size() == 1);
  for (const std::string& o : mounts[0].options) {
    if (absl::StartsWith(o, "upperdir=")) return o.substr(9);
  }
  REQUIRE(mounts[0].type == "bind");
  return mounts[0].source;
}

}  // namespace gantry::testing
