// Containers: the gRPC face of the ContainerStore; publishes
// /containers/create, /containers/update and /containers/delete.
#pragma once

#include "contd/events/exchange.h"
#include "contd/metadata/container_store.h"
#include "contd/v1/containers.grpc.pb.h"

namespace gantry::contd {

class ContainersService final : public v1::Containers::Service {
 public:
  ContainersService(metadata::ContainerStore& store, EventExchange& events)
      : store_(store), events_(events) {}

  grpc::Status Get(grpc::ServerContext* context, const v1::GetContainerRequest* request,
                   v1::GetContainerResponse* response) override;
  grpc::Status List(grpc::ServerContext* context, const v1::ListContainersRequest* request,
                    v1::ListContainersResponse* response) override;
  grpc::Status Create(grpc::ServerContext* context, const v1::CreateContainerRequest* request,
                      v1::CreateContainerResponse* response) override;
  grpc::Status Update(grpc::ServerContext* context, const v1::UpdateContainerRequest* request,
                      v1::UpdateContainerResponse* response) override;
  grpc::Status Delete(grpc::ServerContext* context, const v1::DeleteContainerRequest* request,
                      google::protobuf::Empty* response) override;

 private:
  metadata::ContainerStore& store_;
  EventExchange& events_;
};

}  // namespace gantry::contd
