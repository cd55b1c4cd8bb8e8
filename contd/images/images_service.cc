#include "contd/images/images_service.h"

#include "common/errors.h"
#include "contd/events/topics.h"
#include "contd/service_call.h"
#include "contd/v1/event_types.pb.h"

namespace gantry::contd {

grpc::Status ImagesService::Get(grpc::ServerContext* context, const v1::GetImageRequest* request,
                                v1::GetImageResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(*response->mutable_image(), store_.Get(ns, request->name()));
    return absl::OkStatus();
  });
}

grpc::Status ImagesService::List(grpc::ServerContext* context, const v1::ListImagesRequest* request,
                                 v1::ListImagesResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        std::vector<v1::Image> images,
        store_.List(ns, {request->filters().begin(), request->filters().end()}));
    for (v1::Image& image : images) *response->add_images() = std::move(image);
    return absl::OkStatus();
  });
}

grpc::Status ImagesService::Create(grpc::ServerContext* context,
                                   const v1::CreateImageRequest* request,
                                   v1::CreateImageResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(const v1::Image created, store_.Create(ns, request->image()));
    v1::ImageCreate event;
    event.set_name(created.name());
    *event.mutable_labels() = created.labels();
    PublishOrLog(events_, ns, topics::kImageCreate, event);
    *response->mutable_image() = created;
    return absl::OkStatus();
  });
}

grpc::Status ImagesService::Update(grpc::ServerContext* context,
                                   const v1::UpdateImageRequest* request,
                                   v1::UpdateImageResponse* response) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(const v1::Image updated,
                            store_.Update(ns, request->image(), request->update_mask()));
    v1::ImageUpdate event;
    event.set_name(updated.name());
    *event.mutable_labels() = updated.labels();
    PublishOrLog(events_, ns, topics::kImageUpdate, event);
    *response->mutable_image() = updated;
    return absl::OkStatus();
  });
}

grpc::Status ImagesService::Delete(grpc::ServerContext* context,
                                   const v1::DeleteImageRequest* request,
                                   google::protobuf::Empty* /*response*/) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    GANTRY_RETURN_IF_ERROR(store_.Delete(ns, request->name()));
    v1::ImageDelete event;
    event.set_name(request->name());
    PublishOrLog(events_, ns, topics::kImageDelete, event);
    return absl::OkStatus();
  });
}

}  // namespace gantry::contd
