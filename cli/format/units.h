// Sizes and durations as docker prints them (github.com/docker/go-units).
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "common/time_util.h"

namespace gantry::cli {

// Decimal units with `precision` significant digits: "4.26MB", "0B", "12kB".
std::string HumanSize(double bytes, int precision = 4);

// Binary units with 4 significant digits: "604KiB", "23.54GiB" (docker's
// BytesSize: stats' memory, info's total memory).
std::string BytesSize(double bytes);

// Durations: common/time_util.h, shared with engined.
using ::gantry::HumanDuration;

// "2 minutes ago" for a Unix time, from now.
std::string TimeAgo(int64_t unix_seconds);

// "2026-11-29 16:40:00 +0000 UTC": Go's time.Time printed, in local time.
std::string GoTimeString(int64_t unix_seconds);
// "2026-11-29 16:40:00.123456789 +0000 UTC": the same with the fraction of a
// second Go prints (its trailing zeros dropped).
std::string GoTimeString(absl::Time time);

}  // namespace gantry::cli
