// Images: the gRPC face of the ImageStore, the puller and the pusher;
// publishes /images/create, /images/update and /images/delete.
#pragma once

#include "contd/events/exchange.h"
#include "contd/gc/collector.h"
#include "contd/images/archive_export.h"
#include "contd/images/archive_import.h"
#include "contd/images/image_store.h"
#include "contd/images/puller.h"
#include "contd/images/pusher.h"
#include "contd/v1/images.grpc.pb.h"

namespace gantry::contd {

class ImagesService final : public v1::Images::Service {
 public:
  ImagesService(images::ImageStore& store, EventExchange& events, images::ImagePuller& puller,
                images::ImagePusher& pusher, images::ImageImporter& importer,
                images::ImageExporter& exporter, gc::Collector& collector)
      : store_(store),
        events_(events),
        puller_(puller),
        pusher_(pusher),
        importer_(importer),
        exporter_(exporter),
        collector_(collector) {}

  grpc::Status Get(grpc::ServerContext* context, const v1::GetImageRequest* request,
                   v1::GetImageResponse* response) override;
  grpc::Status List(grpc::ServerContext* context, const v1::ListImagesRequest* request,
                    v1::ListImagesResponse* response) override;
  grpc::Status Create(grpc::ServerContext* context, const v1::CreateImageRequest* request,
                      v1::CreateImageResponse* response) override;
  grpc::Status Update(grpc::ServerContext* context, const v1::UpdateImageRequest* request,
                      v1::UpdateImageResponse* response) override;
  // Collects what the image held in the background, or before returning
  // with request.sync.
  grpc::Status Delete(grpc::ServerContext* context, const v1::DeleteImageRequest* request,
                      google::protobuf::Empty* response) override;
  // Streams each blob's progress, then the image; publishes /images/create
  // or /images/update. Under the call's lease ("containerd-lease"), else a
  // temporary one.
  grpc::Status Pull(grpc::ServerContext* context, const v1::PullImageRequest* request,
                    grpc::ServerWriter<v1::PullImageProgress>* writer) override;
  grpc::Status Push(grpc::ServerContext* context, const v1::PushImageRequest* request,
                    grpc::ServerWriter<v1::PushImageProgress>* writer) override;
  // Reads the archive from the request stream, streams each blob's and
  // layer's progress, then the images; publishes /images/create or
  // /images/update for each.
  grpc::Status Import(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ImportImageProgress, v1::ImportImageRequest>* stream) override;
  grpc::Status Export(grpc::ServerContext* context, const v1::ExportImageRequest* request,
                      grpc::ServerWriter<v1::ExportImageChunk>* writer) override;

 private:
  images::ImageStore& store_;
  EventExchange& events_;
  images::ImagePuller& puller_;
  images::ImagePusher& pusher_;
  images::ImageImporter& importer_;
  images::ImageExporter& exporter_;
  gc::Collector& collector_;
};

}  // namespace gantry::contd
