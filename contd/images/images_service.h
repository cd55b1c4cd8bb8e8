// Images: the gRPC face of the ImageStore; publishes /images/create,
// /images/update and /images/delete.
#pragma once

#include "contd/events/exchange.h"
#include "contd/images/image_store.h"
#include "contd/v1/images.grpc.pb.h"

namespace gantry::contd {

class ImagesService final : public v1::Images::Service {
 public:
  ImagesService(images::ImageStore& store, EventExchange& events)
      : store_(store), events_(events) {}

  grpc::Status Get(grpc::ServerContext* context, const v1::GetImageRequest* request,
                   v1::GetImageResponse* response) override;
  grpc::Status List(grpc::ServerContext* context, const v1::ListImagesRequest* request,
                    v1::ListImagesResponse* response) override;
  grpc::Status Create(grpc::ServerContext* context, const v1::CreateImageRequest* request,
                      v1::CreateImageResponse* response) override;
  grpc::Status Update(grpc::ServerContext* context, const v1::UpdateImageRequest* request,
                      v1::UpdateImageResponse* response) override;
  // request.sync is accepted but has nothing to wait for until garbage
  // collection exists.
  grpc::Status Delete(grpc::ServerContext* context, const v1::DeleteImageRequest* request,
                      google::protobuf::Empty* response) override;

 private:
  images::ImageStore& store_;
  EventExchange& events_;
};

}  // namespace gantry::contd
