// Times as the docker CLI reads them from its flags (--since, --until) and
// prints them (events' RFC 3339 with fixed nanoseconds).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gantry::cli {

// docker's GetTimestamp: a Go duration ("10m": that long before `now`), an
// RFC 3339 date or date-time (local time without a zone), or Unix seconds
// ("1700000000.5", passed on as they are); the API's "seconds[.nanos]".
absl::StatusOr<std::string> ApiTimestamp(absl::string_view value, absl::Time now);

// "2026-11-29T18:00:00.000000000Z" (local time, "Z" for UTC, else "+01:00").
std::string Rfc3339NanoFixed(int64_t unix_nanos);

}  // namespace gantry::cli
