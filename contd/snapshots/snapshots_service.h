// Snapshots: the gRPC face of the snapshotters; the request names which one
// ("overlayfs", "native"; the default when empty). A call under a lease
// ("containerd-lease" metadata) adds the snapshots it creates to it.
#pragma once

#include <map>
#include <string>

#include "contd/metadata/lease_store.h"
#include "contd/snapshots/snapshotter.h"
#include "contd/v1/snapshots.grpc.pb.h"

namespace gantry::contd {

class SnapshotsService final : public v1::Snapshots::Service {
 public:
  // Snapshotters by name; they outlive the service.
  SnapshotsService(std::map<std::string, snapshots::Snapshotter*> snapshotters,
                   std::string default_snapshotter, metadata::LeaseStore& leases)
      : snapshotters_(std::move(snapshotters)),
        default_snapshotter_(std::move(default_snapshotter)),
        leases_(leases) {}

  grpc::Status Prepare(grpc::ServerContext* context, const v1::PrepareSnapshotRequest* request,
                       v1::PrepareSnapshotResponse* response) override;
  grpc::Status View(grpc::ServerContext* context, const v1::ViewSnapshotRequest* request,
                    v1::ViewSnapshotResponse* response) override;
  grpc::Status Mounts(grpc::ServerContext* context, const v1::SnapshotMountsRequest* request,
                      v1::SnapshotMountsResponse* response) override;
  grpc::Status Commit(grpc::ServerContext* context, const v1::CommitSnapshotRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Remove(grpc::ServerContext* context, const v1::RemoveSnapshotRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status Stat(grpc::ServerContext* context, const v1::StatSnapshotRequest* request,
                    v1::StatSnapshotResponse* response) override;
  grpc::Status Update(grpc::ServerContext* context, const v1::UpdateSnapshotRequest* request,
                      v1::UpdateSnapshotResponse* response) override;
  grpc::Status List(grpc::ServerContext* context, const v1::ListSnapshotsRequest* request,
                    grpc::ServerWriter<v1::ListSnapshotsResponse>* writer) override;
  grpc::Status Usage(grpc::ServerContext* context, const v1::SnapshotUsageRequest* request,
                     v1::SnapshotUsageResponse* response) override;
  grpc::Status Cleanup(grpc::ServerContext* context, const v1::CleanupSnapshotsRequest* request,
                       google::protobuf::Empty* response) override;

 private:
  // The snapshotter and its name.
  absl::StatusOr<std::pair<std::string, snapshots::Snapshotter*>> Find(
      const std::string& name) const;
  // Resolves the namespace and the snapshotter, calls `fn` and maps its status.
  template <typename Fn>
  grpc::Status Handle(grpc::ServerContext* context, const std::string& snapshotter, Fn&& fn);

  std::map<std::string, snapshots::Snapshotter*> snapshotters_;
  std::string default_snapshotter_;
  metadata::LeaseStore& leases_;
};

}  // namespace gantry::contd
