// The native snapshotter, for filesystems without overlayfs: every snapshot's
// fs/ is a full copy of its parent (ownership, modes, xattrs, hardlinks and
// device nodes kept), mounted as a bind mount.
#pragma once

#include <memory>
#include <string>

#include "contd/snapshots/directory_snapshotter.h"

namespace gantry::contd::snapshots {

class NativeSnapshotter final : public DirectorySnapshotter {
 public:
  // `root` is <contd root>/snapshots/native.
  static absl::StatusOr<std::unique_ptr<NativeSnapshotter>> Open(metadata::Database& db,
                                                                 const std::string& root);

 protected:
  absl::Status Populate(const std::string& dir, const std::vector<std::string>& parent_fs) override;
  std::vector<Mount> MountsFor(Kind kind, int64_t id,
                               const std::vector<std::string>& parent_fs) const override;

 private:
  using DirectorySnapshotter::DirectorySnapshotter;
};

}  // namespace gantry::contd::snapshots
