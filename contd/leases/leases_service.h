// Leases: the gRPC face of the LeaseStore. A deleted lease's resources are
// collected in the background, or before Delete returns with sync.
#pragma once

#include "contd/gc/collector.h"
#include "contd/metadata/lease_store.h"
#include "contd/v1/leases.grpc.pb.h"

namespace gantry::contd {

class LeasesService final : public v1::Leases::Service {
 public:
  LeasesService(metadata::LeaseStore& store, gc::Collector& collector)
      : store_(store), collector_(collector) {}

  grpc::Status Create(grpc::ServerContext* context, const v1::CreateLeaseRequest* request,
                      v1::CreateLeaseResponse* response) override;
  grpc::Status Delete(grpc::ServerContext* context, const v1::DeleteLeaseRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status List(grpc::ServerContext* context, const v1::ListLeasesRequest* request,
                    v1::ListLeasesResponse* response) override;
  grpc::Status AddResource(grpc::ServerContext* context, const v1::AddLeaseResourceRequest* request,
                           google::protobuf::Empty* response) override;
  grpc::Status DeleteResource(grpc::ServerContext* context,
                              const v1::DeleteLeaseResourceRequest* request,
                              google::protobuf::Empty* response) override;
  grpc::Status ListResources(grpc::ServerContext* context,
                             const v1::ListLeaseResourcesRequest* request,
                             v1::ListLeaseResourcesResponse* response) override;

 private:
  metadata::LeaseStore& store_;
  gc::Collector& collector_;
};

}  // namespace gantry::contd
