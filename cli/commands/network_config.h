// network create's --subnet, --ip-range and --gateway as the IPAM.Config
// the docker CLI sends (its consolidateIpam).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace gantry::cli {

// One {"Subnet", "IPRange", "Gateway"} per subnet, each range and gateway
// on the subnet that holds it; errors as docker's ("no matching subnet for
// gateway 10.1.1.1").
absl::StatusOr<nlohmann::json> IpamConfigs(const std::vector<std::string>& subnets,
                                           const std::vector<std::string>& ranges,
                                           const std::vector<std::string>& gateways);

}  // namespace gantry::cli
