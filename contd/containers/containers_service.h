// Containers: the gRPC face of the ContainerStore; publishes
// /containers/create, /containers/update and /containers/delete.
#pragma once

#include <functional>
#include <string>

#include "contd/events/exchange.h"
#include "contd/metadata/container_store.h"
#include "contd/v1/containers.grpc.pb.h"

namespace gantry::contd {

class ContainersService final : public v1::Containers::Service {
 public:
  // Whether a container is in use (has a task): such a container cannot be
  // deleted, as in containerd.
  using InUse = std::function<bool(const std::string& ns, const std::string& id)>;

  // `on_delete` runs after each delete (a garbage collection is scheduled:
  // the container's snapshot may be free now).
  ContainersService(metadata::ContainerStore& store, EventExchange& events, InUse in_use,
                    std::function<void()> on_delete = nullptr)
      : store_(store),
        events_(events),
        in_use_(std::move(in_use)),
        on_delete_(std::move(on_delete)) {}

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
  InUse in_use_;
  std::function<void()> on_delete_;
};

}  // namespace gantry::contd
