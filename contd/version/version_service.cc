#include "contd/version/version_service.h"

namespace gantry::contd {

grpc::Status VersionService::Version(grpc::ServerContext* /*context*/,
                                     const google::protobuf::Empty* /*request*/,
                                     v1::VersionResponse* response) {
  response->set_version(version_);
  response->set_revision(revision_);
  return grpc::Status::OK;
}

}  // namespace gantry::contd
