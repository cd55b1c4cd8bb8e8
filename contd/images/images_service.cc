#include "contd/images/images_service.h"

#include <shared_mutex>

#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/events/topics.h"
#include "contd/leases/request_lease.h"
#include "contd/service_call.h"
#include "contd/v1/event_types.pb.h"

namespace gantry::contd {
namespace {

// A pull's or import's event as its stream message.
template <typename Message>
Message ProgressMessage(const images::PullProgress& p) {
  Message message;
  message.set_digest(p.digest);
  message.set_media_type(p.media_type);
  message.set_status(p.status);
  message.set_done(p.done);
  message.set_total(p.total);
  message.set_diff_id(p.diff_id);
  message.set_chain_id(p.chain_id);
  return message;
}

// /images/create for a new record, /images/update for one pointed elsewhere.
void PublishStored(EventExchange& events, const std::string& ns, const v1::Image& image,
                   bool created) {
  if (created) {
    v1::ImageCreate event;
    event.set_name(image.name());
    *event.mutable_labels() = image.labels();
    PublishOrLog(events, ns, topics::kImageCreate, event);
  } else {
    v1::ImageUpdate event;
    event.set_name(image.name());
    *event.mutable_labels() = image.labels();
    PublishOrLog(events, ns, topics::kImageUpdate, event);
  }
}

}  // namespace

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
      const auto message = ProgressMessage<v1::PullImageProgress>(p);
      std::lock_guard lock(mu);
      writer->Write(message);
    };
    GANTRY_ASSIGN_OR_RETURN(images::PullResult pulled,
                            puller_.Pull(ns, request->reference(), options));
    PublishStored(events_, ns, pulled.image, pulled.created);
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

grpc::Status ImagesService::Import(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ImportImageProgress, v1::ImportImageRequest>* stream) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    v1::ImportImageRequest first;
    if (!stream->Read(&first)) {
      return absl::InvalidArgumentError("import: the request stream is empty");
    }
    images::ImportOptions options;
    // Named, so the import can label the image with it for GC.
    options.snapshotter =
        first.snapshotter().empty() ? puller_.default_snapshotter() : first.snapshotter();
    options.unpack = !first.has_unpack() || first.unpack();
    options.name = first.name();
    options.base_name = first.base_name();
    options.cancelled = [context] { return context->IsCancelled(); };
    if (!first.platform().empty()) {
      absl::StatusOr<images::Platform> platform = images::ParsePlatform(first.platform());
      GANTRY_RETURN_IF_ERROR(Annotate(platform.status(), "platform"));
      options.platform = *platform;
    }
    options.progress = [&](const images::PullProgress& p) {
      stream->Write(ProgressMessage<v1::ImportImageProgress>(p));
    };
    std::string pending = std::move(*first.mutable_data());
    auto read = [&]() -> absl::StatusOr<std::string> {
      if (!pending.empty()) return std::exchange(pending, std::string());
      v1::ImportImageRequest next;
      while (stream->Read(&next)) {
        if (!next.data().empty()) return std::move(*next.mutable_data());
      }
      if (context->IsCancelled()) return absl::CancelledError("import cancelled");
      return std::string();
    };
    // Its blobs are committed before the records that reference them; a
    // collection in between would take them.
    std::shared_lock<std::shared_mutex> no_collection(collector_.gc_lock());
    GANTRY_ASSIGN_OR_RETURN(std::vector<images::ImportedImage> imported,
                            importer_.Import(ns, read, options));
    v1::ImportImageProgress last;
    last.set_status("done");
    for (images::ImportedImage& image : imported) {
      PublishStored(events_, ns, image.image, image.created);
      *last.add_images() = std::move(image.image);
    }
    stream->Write(last);
    return absl::OkStatus();
  });
}

grpc::Status ImagesService::Export(grpc::ServerContext* context,
                                   const v1::ExportImageRequest* request,
                                   grpc::ServerWriter<v1::ExportImageChunk>* writer) {
  return HandleInNamespace(context, [&](const std::string& ns) -> absl::Status {
    images::ExportOptions options;
    options.all_platforms = request->all_platforms();
    if (!request->platform().empty()) {
      absl::StatusOr<images::Platform> platform = images::ParsePlatform(request->platform());
      GANTRY_RETURN_IF_ERROR(Annotate(platform.status(), "platform"));
      options.platform = *platform;
    }
    v1::ExportImageChunk chunk;
    auto write = [&](absl::string_view data) -> absl::Status {
      chunk.set_data(std::string(data));
      if (!writer->Write(chunk)) return absl::CancelledError("export: the client went away");
      return absl::OkStatus();
    };
    return exporter_.Export(ns, {request->names().begin(), request->names().end()}, options, write);
  });
}

}  // namespace gantry::contd
