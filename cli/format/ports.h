// Ports as the docker CLI prints them: ps's PORTS column, `docker port`'s
// lines, and the natural order both are sorted in.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/string_view.h"

namespace gantry::cli {

// docker's DisplayablePorts for a container's Ports of /containers/json:
// ports published on their own number or only exposed grouped into ranges
// ("6000-6001/tcp", "0.0.0.0:9000-9001->9000-9001/udp"), then the other
// mappings ("127.0.0.1:8080->80/tcp"), joined with ", ".
std::string DisplayablePorts(const nlohmann::json& ports);

// Go's net.JoinHostPort: "127.0.0.1:80", "[::1]:80".
std::string JoinHostPort(absl::string_view host, absl::string_view port);

// Natural order (github.com/fvbommel/sortorder): runs of digits compare as
// numbers, so "80/tcp" sorts before "7000/tcp" and "web2" before "web10".
bool NaturalLess(absl::string_view a, absl::string_view b);

}  // namespace gantry::cli
