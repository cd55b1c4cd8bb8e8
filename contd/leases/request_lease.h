// The lease a gRPC call works under, named in its "containerd-lease"
// metadata as containerd's clients name it.
#pragma once

#include <string>

#include <grpcpp/server_context.h>

namespace gantry::contd {

inline constexpr char kLeaseMetadataKey[] = "containerd-lease";

// The lease the call's metadata names; "" when it names none.
std::string RequestLease(const grpc::ServerContextBase& context);

}  // namespace gantry::contd
