#include "contd/containers/containers_service.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/events/topics.h"
#include "contd/service_call.h"
#include "contd/v1/event_types.pb.h"

namespace gantry::contd {

grpc::Status ContainersService::Get(grpc::ServerContext* context,
                                    const v1::GetContainerRequest* request,
                                    v1::GetContainerResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(*response->mutable_container(), store_.Get(ns, request->id()));
    return absl::OkStatus();
  });
}

grpc::Status ContainersService::List(grpc::ServerContext* context,
                                     const v1::ListContainersRequest* request,
                                     v1::ListContainersResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        std::vector<v1::Container> containers,
        store_.List(ns, {request->filters().begin(), request->filters().end()}));
    for (v1::Container& c : containers) *response->add_containers() = std::move(c);
    return absl::OkStatus();
  });
}

grpc::Status ContainersService::Create(grpc::ServerContext* context,
                                       const v1::CreateContainerRequest* request,
                                       v1::CreateContainerResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(const v1::Container created, store_.Create(ns, request->container()));
    v1::ContainerCreate event;
    event.set_id(created.id());
    event.set_image(created.image());
    event.mutable_runtime()->set_name(created.runtime().name());
    PublishOrLog(events_, ns, topics::kContainerCreate, event);
    *response->mutable_container() = created;
    return absl::OkStatus();
  });
}

grpc::Status ContainersService::Update(grpc::ServerContext* context,
                                       const v1::UpdateContainerRequest* request,
                                       v1::UpdateContainerResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(const v1::Container updated,
                            store_.Update(ns, request->container(), request->update_mask()));
    v1::ContainerUpdate event;
    event.set_id(updated.id());
    event.set_image(updated.image());
    *event.mutable_labels() = updated.labels();
    event.set_snapshot_key(updated.snapshot_key());
    PublishOrLog(events_, ns, topics::kContainerUpdate, event);
    *response->mutable_container() = updated;
    return absl::OkStatus();
  });
}

grpc::Status ContainersService::Delete(grpc::ServerContext* context,
                                       const v1::DeleteContainerRequest* request,
                                       google::protobuf::Empty* /*response*/) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    if (in_use_(ns, request->id())) {
      return absl::FailedPreconditionError(
          absl::StrCat("container ", request->id(), ": has a task; delete the task first"));
    }
    GANTRY_RETURN_IF_ERROR(store_.Delete(ns, request->id()));
    v1::ContainerDelete event;
    event.set_id(request->id());
    PublishOrLog(events_, ns, topics::kContainerDelete, event);
    if (on_delete_) on_delete_();
    return absl::OkStatus();
  });
}

}  // namespace gantry::contd
