#include "contd/snapshots/overlay_snapshotter.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"

namespace gantry::contd::snapshots {

absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> OverlaySnapshotter::Open(
    metadata::Database& db, const std::string& root) {
  std::unique_ptr<OverlaySnapshotter> s(new OverlaySnapshotter(db, "overlayfs", root));
  GANTRY_RETURN_IF_ERROR(s->Init());
  return s;
}

absl::Status OverlaySnapshotter::Populate(const std::string& dir,
                                          const std::vector<std::string>& /*parent_fs*/) {
  const std::string work = absl::StrCat(dir, "/work");
  if (::mkdir(work.c_str(), 0700) != 0) return LastErrno(absl::StrCat("mkdir ", work));
  return absl::OkStatus();
}

std::vector<Mount> OverlaySnapshotter::MountsFor(Kind kind, int64_t id,
                                                 const std::vector<std::string>& parent_fs) const {
  const std::string fs = FsDir(id);
  const char* access = kind == Kind::kView ? "ro" : "rw";
  if (parent_fs.empty()) return {Mount{"bind", fs, {"rbind", access}}};
  if (kind == Kind::kView && parent_fs.size() == 1) {
    return {Mount{"bind", parent_fs.front(), {"rbind", "ro"}}};
  }
  // index=off: layers are shared between mounts, which the index forbids.
  std::vector<std::string> options = {"index=off",
                                      absl::StrCat("lowerdir=", absl::StrJoin(parent_fs, ":"))};
  if (kind == Kind::kView) {
    options.push_back("ro");
  } else {
    options.push_back(absl::StrCat("upperdir=", fs));
    options.push_back(absl::StrCat("workdir=", snapshots_dir(), "/", id, "/work"));
  }
  return {Mount{"overlay", "overlay", std::move(options)}};
}

}  // namespace gantry::contd::snapshots
