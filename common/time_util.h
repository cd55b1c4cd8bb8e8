// Timestamps in the forms Docker, containerd and runc print.
#pragma once

#include <string>

namespace gantry {

// Current UTC time as RFC 3339 with nanoseconds: "2026-01-02T03:04:05.123456789Z".
std::string NowRfc3339Nano();

}  // namespace gantry
