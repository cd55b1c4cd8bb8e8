#include "contd/leases/request_lease.h"

namespace gantry::contd {

std::string RequestLease(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kLeaseMetadataKey);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace gantry::contd
