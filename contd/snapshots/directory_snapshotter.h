// The part the overlayfs and native snapshotters share: records in the
// metadata database (SnapshotStore) and one directory per snapshot,
// <root>/snapshots/<id>/fs, created under a temporary name and renamed into
// place inside the transaction that stores the record, so a crash leaves at
// worst an orphan directory that Cleanup removes.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "contd/metadata/database.h"
#include "contd/metadata/snapshot_store.h"
#include "contd/snapshots/snapshotter.h"

namespace gantry::contd::snapshots {

class DirectorySnapshotter : public Snapshotter {
 public:
  absl::StatusOr<Info> Stat(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<Info> Update(absl::string_view ns, const Info& info,
                              const std::vector<std::string>& paths) override;
  absl::StatusOr<Usage> GetUsage(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::vector<Mount>> Mounts(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::vector<Mount>> Prepare(absl::string_view ns, absl::string_view key,
                                             absl::string_view parent,
                                             const Labels& labels) override;
  absl::StatusOr<std::vector<Mount>> View(absl::string_view ns, absl::string_view key,
                                          absl::string_view parent, const Labels& labels) override;
  absl::Status Commit(absl::string_view ns, absl::string_view name, absl::string_view key,
                      const Labels& labels) override;
  absl::Status Remove(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<std::vector<Info>> List(absl::string_view ns,
                                         const std::vector<std::string>& filters) override;
  absl::Status Cleanup() override;

  // <root>/snapshots: where the snapshot directories are.
  const std::string& snapshots_dir() const { return snapshots_dir_; }

 protected:
  // `root` is this snapshotter's directory (<contd root>/snapshots/<name>).
  DirectorySnapshotter(metadata::Database& db, const std::string& name, const std::string& root);
  // Creates <root>/snapshots and removes what a crash left there.
  absl::Status Init();

  // <root>/snapshots/<id>/fs
  std::string FsDir(int64_t id) const;

  // Fills the new snapshot's directory `dir` (its fs/ exists) on top of
  // parents' fs directories, nearest first.
  virtual absl::Status Populate(const std::string& dir,
                                const std::vector<std::string>& parent_fs) = 0;
  // The mounts assembling snapshot `id` of `kind` over its parents.
  virtual std::vector<Mount> MountsFor(Kind kind, int64_t id,
                                       const std::vector<std::string>& parent_fs) const = 0;

 private:
  absl::StatusOr<std::vector<Mount>> Create(absl::string_view ns, absl::string_view key,
                                            absl::string_view parent, Kind kind,
                                            const Labels& labels);
  std::vector<std::string> ParentFs(const std::vector<int64_t>& parent_ids) const;

  metadata::SnapshotStore store_;
  const std::string snapshots_dir_;
  // Temporary directories of Prepare and View calls under way, which
  // Cleanup must leave alone.
  std::mutex in_flight_mu_;
  std::set<std::string> in_flight_;
};

}  // namespace gantry::contd::snapshots
