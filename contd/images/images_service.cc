#include "contd/images/images_service.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/events/topics.h"
#include "contd/leases/request_lease.h"
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
    if (request->sync()) return collector_.Collect().status();
    collector_.Schedule();
    return absl::OkStatus();
  });
}

grpc::Status ImagesService::Pull(grpc::ServerContext* context, const v1::PullImageRequest* request,
                                 grpc::ServerWriter<v1::PullImageProgress>* writer) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    images::PullOptions options;
    options.snapshotter = request->snapshotter();
    options.lease = RequestLease(*context);
    options.unpack = !request->has_unpack() || request->unpack();
    // A client that went away gets no image record.
    options.cancelled = [context] { return context->IsCancelled(); };
    if (!request->platform().empty()) {
      absl::StatusOr<images::Platform> platform = images::ParsePlatform(request->platform());
      GANTRY_RETURN_IF_ERROR(Annotate(platform.status(), "platform"));
      options.platform = *platform;
    }
    // Progress comes from the download threads too; a stream takes one
    // write at a time.
    std::mutex mu;
    options.progress = [&](const images::PullProgress& p) {
      v1::PullImageProgress message;
      message.set_digest(p.digest);
      message.set_media_type(p.media_type);
      message.set_status(p.status);
      message.set_done(p.done);
      message.set_total(p.total);
      message.set_diff_id(p.diff_id);
      message.set_chain_id(p.chain_id);
      std::lock_guard lock(mu);
      writer->Write(message);
    };
    GANTRY_ASSIGN_OR_RETURN(images::PullResult pulled,
                            puller_.Pull(ns, request->reference(), options));
    if (pulled.created) {
      v1::ImageCreate event;
      event.set_name(pulled.image.name());
      *event.mutable_labels() = pulled.image.labels();
      PublishOrLog(events_, ns, topics::kImageCreate, event);
    } else {
      v1::ImageUpdate event;
      event.set_name(pulled.image.name());
      *event.mutable_labels() = pulled.image.labels();
      PublishOrLog(events_, ns, topics::kImageUpdate, event);
    }
    v1::PullImageProgress last;
    last.set_digest(pulled.image.target().digest());
    last.set_media_type(pulled.image.target().media_type());
    last.set_status("done");
    last.set_chain_id(pulled.chain_id);
    *last.mutable_image() = std::move(pulled.image);
    std::lock_guard lock(mu);
    writer->Write(last);
    return absl::OkStatus();
  });
}

grpc::Status ImagesService::Push(grpc::ServerContext* context, const v1::PushImageRequest* request,
                                 grpc::ServerWriter<v1::PushImageProgress>* writer) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    auto progress = [&](const images::PushProgress& p) {
      v1::PushImageProgress message;
      message.set_digest(p.digest);
      message.set_media_type(p.media_type);
      message.set_status(p.status);
      message.set_size(p.size);
      writer->Write(message);
    };
    GANTRY_ASSIGN_OR_RETURN(std::string digest,
                            pusher_.Push(ns, request->name(), request->reference(), progress));
    v1::PushImageProgress last;
    last.set_digest(digest);
    last.set_status("tagged");
    last.set_manifest_digest(digest);
    writer->Write(last);
    return absl::OkStatus();
  });
}

}  // namespace gantry::contd
