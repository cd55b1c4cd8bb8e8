// Leases in the metadata database, keyed by (namespace, id), with their
// labels and the resources they hold. The Leases gRPC service, the puller
// and the services that honour the "containerd-lease" request metadata call
// this; garbage collection reads the tables directly (contd/gc/mark.h).
// Thread-safe (all calls go through Database's transactions).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/metadata/database.h"
#include "contd/v1/leases.pb.h"

namespace gantry::contd::metadata {

// Resource types a lease holds (containerd's names).
inline constexpr char kLeaseContent[] = "content";
inline constexpr char kLeaseIngests[] = "ingests";
// Followed by "/<snapshotter>".
inline constexpr char kLeaseSnapshotsPrefix[] = "snapshots";

v1::LeaseResource ContentResource(absl::string_view digest);
v1::LeaseResource IngestResource(absl::string_view ref);
v1::LeaseResource SnapshotResource(absl::string_view snapshotter, absl::string_view key);

class LeaseStore {
 public:
  // `deleted` runs after each Delete (contd schedules a collection there).
  explicit LeaseStore(Database& db, std::function<void()> deleted = {})
      : db_(db), deleted_(std::move(deleted)) {}

  // An empty id gets a random one. INVALID_ARGUMENT for a bad id or label;
  // ALREADY_EXISTS when the namespace has a lease of that id.
  absl::StatusOr<v1::Lease> Create(absl::string_view ns, absl::string_view id,
                                   const google::protobuf::Map<std::string, std::string>& labels);

  // NOT_FOUND when the namespace has no such lease. What it held is left
  // for garbage collection.
  absl::Status Delete(absl::string_view ns, absl::string_view id);

  // The namespace's leases matching any filter (fields: id, labels.<key>).
  absl::StatusOr<std::vector<v1::Lease>> List(absl::string_view ns,
                                              const std::vector<std::string>& filters);

  // Adding a resource held already is no error, nor is deleting one not
  // held. NOT_FOUND for an unknown lease; INVALID_ARGUMENT for an unknown
  // type, a snapshot type without snapshotter or a content id that is no
  // digest.
  absl::Status AddResource(absl::string_view ns, absl::string_view id,
                           const v1::LeaseResource& resource);
  absl::Status DeleteResource(absl::string_view ns, absl::string_view id,
                              const v1::LeaseResource& resource);
  // Sorted by type, then id.
  absl::StatusOr<std::vector<v1::LeaseResource>> ListResources(absl::string_view ns,
                                                               absl::string_view id);

  // Runs `create`, which makes objects and names them in `made`, then adds
  // those to lease `id`, holding the database's GC lock shared across both
  // so that garbage collection sees the objects leased or not at all. With
  // no lease (id "") only runs `create`. The resources are added when
  // `create` succeeds or returns ALREADY_EXISTS (the object is there), and
  // its status is returned.
  absl::Status CreateLeased(
      absl::string_view ns, absl::string_view id,
      const std::function<absl::Status(std::vector<v1::LeaseResource>& made)>& create);

 private:
  Database& db_;
  std::function<void()> deleted_;
};

}  // namespace gantry::contd::metadata
