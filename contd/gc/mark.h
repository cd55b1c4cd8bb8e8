// The mark phase of contd's garbage collector (containerd's metadata/gc.go):
// what in one namespace is still reachable from a root. Roots are image
// targets, containers' snapshots, the resources of live leases, and content
// or snapshots labelled containerd.io/gc.root. References are followed from
// there: a manifest or index reached through a descriptor is parsed (index
// to manifests, manifest to config and layers), a snapshot leads to its
// parent, and any object's containerd.io/gc.ref.content* and
// containerd.io/gc.ref.snapshot.<snapshotter> labels lead to what they name.
#pragma once

#include <compare>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contd/metadata/database.h"

namespace gantry::contd::gc {

// containerd's labels.
inline constexpr char kRootLabel[] = "containerd.io/gc.root";
// Followed by nothing, or '.' or '/' and any suffix; the value is a digest.
inline constexpr char kRefContentLabel[] = "containerd.io/gc.ref.content";
// Followed by "<snapshotter>" and optionally "/<suffix>"; the value is a key.
inline constexpr char kRefSnapshotLabel[] = "containerd.io/gc.ref.snapshot.";
// On a lease: an RFC 3339 time after which it holds nothing.
inline constexpr char kExpireLabel[] = "containerd.io/gc.expire";
// On a lease: its resources are kept, what they reference is not.
inline constexpr char kFlatLabel[] = "containerd.io/gc.flat";

struct SnapshotRef {
  std::string snapshotter;
  std::string key;
  auto operator<=>(const SnapshotRef&) const = default;
};

struct Reachable {
  std::set<std::string> content;  // digests
  std::set<SnapshotRef> snapshots;
  std::set<std::string> ingests;  // refs held by live leases
  std::vector<std::string> expired_leases;
};

// The bytes of a blob the namespace has, for parsing manifests and indexes.
// Called inside the mark's read transaction, so it must not use the
// database.
using BlobReader = std::function<absl::StatusOr<std::string>(absl::string_view digest)>;

// Marks what namespace `ns` still needs at time `now`. A blob that does not
// parse as the manifest or index its descriptor says is kept but not
// followed; an error reading the database or a blob fails the mark, so that
// nothing is swept on a partial view.
absl::StatusOr<Reachable> Mark(metadata::Connection& conn, absl::string_view ns, absl::Time now,
                               const BlobReader& read_blob);

}  // namespace gantry::contd::gc
