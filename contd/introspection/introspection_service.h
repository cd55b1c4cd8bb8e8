// Introspection: who this contd is. Plugins is not implemented yet.
#pragma once

#include <string>

#include <google/protobuf/timestamp.pb.h>

#include "contd/v1/introspection.grpc.pb.h"

namespace gantry::contd {

class IntrospectionService final : public v1::Introspection::Service {
 public:
  IntrospectionService(std::string uuid, google::protobuf::Timestamp started_at)
      : uuid_(std::move(uuid)), started_at_(std::move(started_at)) {}

  grpc::Status Server(grpc::ServerContext* context, const google::protobuf::Empty* request,
                      v1::ServerResponse* response) override;

 private:
  std::string uuid_;
  google::protobuf::Timestamp started_at_;
};

}  // namespace gantry::contd
