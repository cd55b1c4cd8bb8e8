// Timestamps in the forms Docker, containerd and runc print.
#pragma once

#include <cstdint>
#include <string>

namespace gantry {

// Current UTC time as RFC 3339 with nanoseconds: "2026-01-02T03:04:05.123456789Z".
std::string NowRfc3339Nano();

// Docker's humanized durations (go-units HumanDuration), for "Up 5 minutes"
// and "2 hours ago": "Less than a second", "About a minute", "3 days" ...
std::string HumanDuration(int64_t seconds);

}  // namespace gantry
