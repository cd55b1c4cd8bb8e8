#include "contd/snapshots/native_snapshotter.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/snapshots/fs_tree.h"

namespace gantry::contd::snapshots {

absl::StatusOr<std::unique_ptr<NativeSnapshotter>> NativeSnapshotter::Open(
    metadata::Database& db, const std::string& root) {
  std::unique_ptr<NativeSnapshotter> s(new NativeSnapshotter(db, "native", root));
  GANTRY_RETURN_IF_ERROR(s->Init());
  return s;
}

absl::Status NativeSnapshotter::Populate(const std::string& dir,
                                         const std::vector<std::string>& parent_fs) {
  if (parent_fs.empty()) return absl::OkStatus();
  // The nearest parent already holds the whole chain.
  return CopyTree(parent_fs.front(), absl::StrCat(dir, "/fs"));
}

std::vector<Mount> NativeSnapshotter::MountsFor(
    Kind kind, int64_t id, const std::vector<std::string>& /*parent_fs*/) const {
  return {Mount{"bind", FsDir(id), {"rbind", kind == Kind::kView ? "ro" : "rw"}}};
}

}  // namespace gantry::contd::snapshots
