// run/create's -p, --publish and --expose as the docker CLI reads them
// (github.com/docker/go-connections/nat): Config.ExposedPorts and
// HostConfig.PortBindings.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace gantry::cli {

// One container port of a -p spec and where it is published.
struct PortMapping {
  std::string port;       // "80/tcp"
  std::string host_ip;    // "" for every address
  std::string host_port;  // "" for any free one; "8000-8010" for one in that range
  bool operator==(const PortMapping&) const = default;
};

// "[ip:][host[-end]:]container[-end][/proto]", or the long form
// "target=80,published=8080,protocol=udp": one mapping per container port.
absl::StatusOr<std::vector<PortMapping>> ParsePortSpec(const std::string& spec);

struct PublishedPorts {
  nlohmann::json exposed = nlohmann::json::object();   // {"80/tcp": {}}
  nlohmann::json bindings = nlohmann::json::object();  // {"80/tcp": [{"HostIp", "HostPort"}]}
};

// Every -p spec and --expose port ("80", "6000-6010/udp").
absl::StatusOr<PublishedPorts> ParsePublishedPorts(const std::vector<std::string>& publish,
                                                   const std::vector<std::string>& expose);

}  // namespace gantry::cli
