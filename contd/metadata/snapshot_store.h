// Snapshot records in the metadata database, keyed by (snapshotter,
// namespace, key). Each record owns one directory of its snapshotter, named
// by the record's id: a short number, so that overlay mounts of many layers
// stay within the kernel's mount-data limit. Knows nothing of directories
// or mounts; contd/snapshots/ does. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/metadata/database.h"
#include "contd/snapshots/snapshotter.h"

namespace gantry::contd::metadata {

struct SnapshotRecord {
  int64_t id = 0;
  snapshots::Info info;
  // Ids of the parent chain, nearest parent first.
  std::vector<int64_t> parent_ids;
};

class SnapshotStore {
 public:
  SnapshotStore(Database& db, std::string snapshotter)
      : db_(db), snapshotter_(std::move(snapshotter)) {}

  // Stores a new view or active snapshot under a fresh id. `materialize`
  // runs inside the transaction with that id (the snapshotter moves the
  // snapshot's directory into place); when it fails nothing is stored.
  // ALREADY_EXISTS for a used key; NOT_FOUND or FAILED_PRECONDITION for a
  // missing or uncommitted parent.
  absl::StatusOr<SnapshotRecord> Create(absl::string_view ns, absl::string_view key,
                                        absl::string_view parent, snapshots::Kind kind,
                                        const snapshots::Labels& labels,
                                        const std::function<absl::Status(int64_t id)>& materialize);

  // NOT_FOUND when the namespace has no snapshot `key`.
  absl::StatusOr<SnapshotRecord> Get(absl::string_view ns, absl::string_view key);

  // Renames the active snapshot `key` to `name` and makes it committed, with
  // `labels` as its labels.
  absl::Status Commit(absl::string_view ns, absl::string_view name, absl::string_view key,
                      const snapshots::Labels& labels);

  absl::StatusOr<snapshots::Info> Update(absl::string_view ns, const snapshots::Info& info,
                                         const std::vector<std::string>& paths);

  // Removes the record and returns its id. FAILED_PRECONDITION while other
  // snapshots have `key` as parent.
  absl::StatusOr<int64_t> Remove(absl::string_view ns, absl::string_view key);

  // The namespace's snapshots, sorted by name.
  absl::StatusOr<std::vector<snapshots::Info>> List(absl::string_view ns);

  // The ids of every record of this snapshotter, in all namespaces.
  absl::StatusOr<std::set<int64_t>> Ids();

 private:
  Database& db_;
  const std::string snapshotter_;
};

}  // namespace gantry::contd::metadata
