// The overlayfs snapshotter: each snapshot's fs/ holds only its own layer.
// An active snapshot mounts as an overlay with fs/ as upperdir over its
// parents' fs/ as lowerdirs; a snapshot without parents is a bind mount of
// its fs/; a view of one layer is a read-only bind of that layer.
#pragma once

#include <memory>
#include <string>

#include "contd/snapshots/directory_snapshotter.h"

namespace gantry::contd::snapshots {

class OverlaySnapshotter final : public DirectorySnapshotter {
 public:
  // `root` is <contd root>/snapshots/overlayfs.
  static absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> Open(metadata::Database& db,
                                                                  const std::string& root);

 protected:
  absl::Status Populate(const std::string& dir, const std::vector<std::string>& parent_fs) override;
  std::vector<Mount> MountsFor(Kind kind, int64_t id,
                               const std::vector<std::string>& parent_fs) const override;

 private:
  using DirectorySnapshotter::DirectorySnapshotter;
};

}  // namespace gantry::contd::snapshots
