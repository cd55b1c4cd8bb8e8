// Introspection: who this contd is and what it is made of.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <google/protobuf/timestamp.pb.h>

#include "contd/v1/introspection.grpc.pb.h"

namespace gantry::contd {

class IntrospectionService final : public v1::Introspection::Service {
 public:
  IntrospectionService(std::string uuid, google::protobuf::Timestamp started_at,
                       std::vector<v1::Plugin> plugins)
      : uuid_(std::move(uuid)), started_at_(std::move(started_at)), plugins_(std::move(plugins)) {}

  // Filter fields: type, id, init_error, exports.<key>.
  grpc::Status Plugins(grpc::ServerContext* context, const v1::PluginsRequest* request,
                       v1::PluginsResponse* response) override;
  grpc::Status Server(grpc::ServerContext* context, const google::protobuf::Empty* request,
                      v1::ServerResponse* response) override;

 private:
  std::string uuid_;
  google::protobuf::Timestamp started_at_;
  // Uptime by the monotonic clock, which wall-clock changes do not move.
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::vector<v1::Plugin> plugins_;
};

}  // namespace gantry::contd
