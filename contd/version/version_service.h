// Version: which contd is answering.
#pragma once

#include <string>

#include "contd/v1/version.grpc.pb.h"

namespace gantry::contd {

class VersionService final : public v1::Version::Service {
 public:
  VersionService(std::string version, std::string revision)
      : version_(std::move(version)), revision_(std::move(revision)) {}

  grpc::Status Version(grpc::ServerContext* context, const google::protobuf::Empty* request,
                       v1::VersionResponse* response) override;

 private:
  std::string version_;
  std::string revision_;
};

}  // namespace gantry::contd
