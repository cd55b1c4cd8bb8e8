// Snapshotters (containerd's snapshots.Snapshotter): layered filesystems
// that become image layers (committed snapshots) and container root
// filesystems (active snapshots). Keys are scoped by namespace, as
// containerd's metadata layer scopes them; the namespace is an argument so
// that the interface knows nothing of gRPC.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/mount_list.h"

namespace gantry::contd::snapshots {

enum class Kind { kView = 1, kActive = 2, kCommitted = 3 };

using Labels = std::map<std::string, std::string>;

using Mount = gantry::Mount;

struct Info {
  // The key of an active or view snapshot, the name of a committed one.
  std::string name;
  // Name of the committed parent; empty for a base layer.
  std::string parent;
  Kind kind = Kind::kActive;
  Labels labels;
  google::protobuf::Timestamp created_at;
  google::protobuf::Timestamp updated_at;
};

// Disk used by a snapshot's own layer, not its parents'.
struct Usage {
  int64_t size = 0;
  int64_t inodes = 0;
};

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // NOT_FOUND when the namespace has no snapshot `key`.
  virtual absl::StatusOr<Info> Stat(absl::string_view ns, absl::string_view key) = 0;

  // Replaces the labels `paths` names ("labels", "labels.<key>"; all labels
  // when empty) with those of info (found by info.name). INVALID_ARGUMENT
  // for other paths.
  virtual absl::StatusOr<Info> Update(absl::string_view ns, const Info& info,
                                      const std::vector<std::string>& paths) = 0;

  virtual absl::StatusOr<Usage> GetUsage(absl::string_view ns, absl::string_view key) = 0;

  // Mounts of an active or view snapshot. FAILED_PRECONDITION for a
  // committed one.
  virtual absl::StatusOr<std::vector<Mount>> Mounts(absl::string_view ns,
                                                    absl::string_view key) = 0;

  // A writable snapshot on top of the committed `parent` ("" for none).
  // ALREADY_EXISTS for a used key; NOT_FOUND or FAILED_PRECONDITION for a
  // missing or uncommitted parent.
  virtual absl::StatusOr<std::vector<Mount>> Prepare(absl::string_view ns, absl::string_view key,
                                                     absl::string_view parent,
                                                     const Labels& labels) = 0;

  // A read-only snapshot of `parent`.
  virtual absl::StatusOr<std::vector<Mount>> View(absl::string_view ns, absl::string_view key,
                                                  absl::string_view parent,
                                                  const Labels& labels) = 0;

  // Turns the active snapshot `key` into the committed snapshot `name`.
  virtual absl::Status Commit(absl::string_view ns, absl::string_view name, absl::string_view key,
                              const Labels& labels) = 0;

  // FAILED_PRECONDITION while other snapshots have `key` as parent.
  virtual absl::Status Remove(absl::string_view ns, absl::string_view key) = 0;

  // The namespace's snapshots matching any of the filters (all when none),
  // sorted by name. Filter fields: name, parent, kind (view, active,
  // committed), labels.<key>.
  virtual absl::StatusOr<std::vector<Info>> List(absl::string_view ns,
                                                 const std::vector<std::string>& filters) = 0;

  // Removes directories no snapshot owns (left by a crash or a failed
  // removal).
  virtual absl::Status Cleanup() = 0;
};

absl::string_view KindName(Kind kind);

}  // namespace gantry::contd::snapshots
