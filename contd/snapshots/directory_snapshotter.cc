#include "contd/snapshots/directory_snapshotter.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "contd/filters.h"
#include "contd/namespaces.h"
#include "contd/snapshots/fs_tree.h"

namespace gantry::contd::snapshots {
namespace {

std::optional<std::string> InfoField(const Info& info, const std::vector<std::string>& path) {
  if (path.size() == 1) {
    if (path[0] == "name") return info.name;
    if (path[0] == "parent") return info.parent;
    if (path[0] == "kind") return std::string(KindName(info.kind));
  } else if (path.size() == 2 && path[0] == "labels") {
    auto it = info.labels.find(path[1]);
    if (it != info.labels.end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace

DirectorySnapshotter::DirectorySnapshotter(metadata::Database& db, const std::string& name,
                                           const std::string& root)
    : store_(db, name), snapshots_dir_(absl::StrCat(root, "/snapshots")) {}

absl::Status DirectorySnapshotter::Init() {
  GANTRY_RETURN_IF_ERROR(MakeDirs(snapshots_dir_, 0700));
  // What a crash left half-done (a Prepare's temporary directory, a
  // Remove's directory) goes now; a failure here must not stop contd.
  absl::Status cleaned = Cleanup();
  if (!cleaned.ok()) log::Warning("snapshots: cleanup: ", cleaned.message());
  return absl::OkStatus();
}

std::string DirectorySnapshotter::FsDir(int64_t id) const {
  return absl::StrCat(snapshots_dir_, "/", id, "/fs");
}

std::vector<std::string> DirectorySnapshotter::ParentFs(
    const std::vector<int64_t>& parent_ids) const {
  std::vector<std::string> dirs;
  for (int64_t id : parent_ids) dirs.push_back(FsDir(id));
  return dirs;
}

absl::StatusOr<Info> DirectorySnapshotter::Stat(absl::string_view ns, absl::string_view key) {
  GANTRY_ASSIGN_OR_RETURN(metadata::SnapshotRecord r, store_.Get(ns, key));
  return r.info;
}

absl::StatusOr<Info> DirectorySnapshotter::Update(absl::string_view ns, const Info& info,
                                                  const std::vector<std::string>& paths) {
  return store_.Update(ns, info, paths);
}

absl::StatusOr<Usage> DirectorySnapshotter::GetUsage(absl::string_view ns, absl::string_view key) {
  GANTRY_ASSIGN_OR_RETURN(metadata::SnapshotRecord r, store_.Get(ns, key));
  return DiskUsage(FsDir(r.id));
}

absl::StatusOr<std::vector<Mount>> DirectorySnapshotter::Mounts(absl::string_view ns,
                                                                absl::string_view key) {
  GANTRY_ASSIGN_OR_RETURN(metadata::SnapshotRecord r, store_.Get(ns, key));
  if (r.info.kind == Kind::kCommitted) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot \"", key, "\": a committed snapshot has no mounts; prepare or view it"));
  }
  return MountsFor(r.info.kind, r.id, ParentFs(r.parent_ids));
}

absl::StatusOr<std::vector<Mount>> DirectorySnapshotter::Prepare(absl::string_view ns,
                                                                 absl::string_view key,
                                                                 absl::string_view parent,
                                                                 const Labels& labels) {
  return Create(ns, key, parent, Kind::kActive, labels);
}

absl::StatusOr<std::vector<Mount>> DirectorySnapshotter::View(absl::string_view ns,
                                                              absl::string_view key,
                                                              absl::string_view parent,
                                                              const Labels& labels) {
  return Create(ns, key, parent, Kind::kView, labels);
}

absl::StatusOr<std::vector<Mount>> DirectorySnapshotter::Create(absl::string_view ns,
                                                                absl::string_view key,
                                                                absl::string_view parent, Kind kind,
                                                                const Labels& labels) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (key.empty()) return absl::InvalidArgumentError("key: must not be empty");
  // Checked before the (possibly long) populate; the transaction checks again.
  if (store_.Get(ns, key).ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("snapshot \"", key, "\" already exists in namespace \"", ns, "\""));
  }
  std::vector<std::string> parent_fs;
  if (!parent.empty()) {
    GANTRY_ASSIGN_OR_RETURN(metadata::SnapshotRecord p, store_.Get(ns, parent));
    if (p.info.kind != Kind::kCommitted) {
      return absl::FailedPreconditionError(absl::StrCat(
          "parent \"", parent, "\": a ", KindName(p.info.kind), " snapshot cannot be a parent"));
    }
    parent_fs.push_back(FsDir(p.id));
    for (const std::string& dir : ParentFs(p.parent_ids)) parent_fs.push_back(dir);
  }

  std::string temp = absl::StrCat(snapshots_dir_, "/new-XXXXXX");
  if (::mkdtemp(temp.data()) == nullptr) return LastErrno(absl::StrCat("mkdtemp ", temp));
  {
    std::lock_guard<std::mutex> lock(in_flight_mu_);
    in_flight_.insert(temp);
  }
  auto forget = [&] {
    std::lock_guard<std::mutex> lock(in_flight_mu_);
    in_flight_.erase(temp);
  };
  absl::Status populated = ::mkdir(absl::StrCat(temp, "/fs").c_str(), 0755) == 0
                               ? Populate(temp, parent_fs)
                               : LastErrno(absl::StrCat("mkdir ", temp, "/fs"));
  absl::StatusOr<metadata::SnapshotRecord> created = absl::UnknownError("not created");
  if (!populated.ok()) {
    created = populated;
  } else {
    created = store_.Create(ns, key, parent, kind, labels, [&](int64_t id) -> absl::Status {
      const std::string dir = absl::StrCat(snapshots_dir_, "/", id);
      if (::rename(temp.c_str(), dir.c_str()) != 0) {
        return LastErrno(absl::StrCat("rename ", temp, " to ", dir));
      }
      return absl::OkStatus();
    });
  }
  if (!created.ok()) {
    (void)RemoveTree(temp);
    forget();
    return created.status();
  }
  forget();
  return MountsFor(kind, created->id, ParentFs(created->parent_ids));
}

absl::Status DirectorySnapshotter::Commit(absl::string_view ns, absl::string_view name,
                                          absl::string_view key, const Labels& labels) {
  return store_.Commit(ns, name, key, labels);
}

absl::Status DirectorySnapshotter::Remove(absl::string_view ns, absl::string_view key) {
  GANTRY_ASSIGN_OR_RETURN(int64_t id, store_.Remove(ns, key));
  const std::string dir = absl::StrCat(snapshots_dir_, "/", id);
  absl::Status removed = RemoveTree(dir);
  // The record is gone; Cleanup retries the directory.
  if (!removed.ok()) log::Warning("snapshot \"", key, "\": ", removed.message());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Info>> DirectorySnapshotter::List(
    absl::string_view ns, const std::vector<std::string>& filters) {
  GANTRY_ASSIGN_OR_RETURN(Filter filter, Filter::ParseAny(filters));
  GANTRY_ASSIGN_OR_RETURN(std::vector<Info> all, store_.List(ns));
  std::vector<Info> matching;
  for (Info& info : all) {
    if (filter.Match(
            [&info](const std::vector<std::string>& path) { return InfoField(info, path); })) {
      matching.push_back(std::move(info));
    }
  }
  return matching;
}

absl::Status DirectorySnapshotter::Cleanup() {
  DIR* dir = ::opendir(snapshots_dir_.c_str());
  if (dir == nullptr) return LastErrno(absl::StrCat("open ", snapshots_dir_));
  std::vector<std::pair<std::string, std::optional<int64_t>>> entries;
  {
    std::lock_guard<std::mutex> lock(in_flight_mu_);
    while (dirent* e = ::readdir(dir)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string path = absl::StrCat(snapshots_dir_, "/", name);
      int64_t id = 0;
      if (absl::SimpleAtoi(name, &id)) {
        entries.emplace_back(path, id);
      } else if (in_flight_.count(path) == 0) {
        entries.emplace_back(path, std::nullopt);
      }
    }
  }
  ::closedir(dir);
  // Read after listing: a directory renamed into place meanwhile has its
  // record committed by then (transactions run one at a time).
  GANTRY_ASSIGN_OR_RETURN(std::set<int64_t> ids, store_.Ids());
  std::vector<std::string> orphans;
  for (const auto& [path, id] : entries) {
    if (!id.has_value() || ids.count(*id) == 0) orphans.push_back(path);
  }
  absl::Status first;
  for (const std::string& path : orphans) {
    absl::Status removed = RemoveTree(path);
    if (first.ok()) first = removed;
  }
  return first;
}

}  // namespace gantry::contd::snapshots
