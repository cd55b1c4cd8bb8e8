#include "contd/introspection/introspection_service.h"

#include <unistd.h>

namespace gantry::contd {

grpc::Status IntrospectionService::Server(grpc::ServerContext* /*context*/,
                                          const google::protobuf::Empty* /*request*/,
                                          v1::ServerResponse* response) {
  response->set_uuid(uuid_);
  response->set_pid(static_cast<uint64_t>(::getpid()));
  *response->mutable_started_at() = started_at_;
  return grpc::Status::OK;
}

}  // namespace gantry::contd
