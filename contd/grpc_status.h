// The one place where contd's absl::Status errors become gRPC statuses: the
// codes are the same canonical codes, so only the representation changes.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace gantry::contd {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace gantry::contd
