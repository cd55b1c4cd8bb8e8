// --since/--until as docker reads them, and events' time stamps.
#include "cli/format/timestamps.h"

#include <cstdlib>

#include <catch2/catch.hpp>

namespace {
using namespace gantry::cli;
}  // namespace

TEST_CASE("--since and --until take durations, dates and Unix seconds", "[cli][time]") {
  ::setenv("TZ", "UTC", 1);
  const absl::Time now = absl::FromUnixSeconds(1795977600);  // 2026-11-29T18:40:00Z
  CHECK(*ApiTimestamp("10m", now) == "1795977000");
  CHECK(*ApiTimestamp("1h30m", now) == "1795972200");
  CHECK(*ApiTimestamp("0s", now) == "1795977600");
  CHECK(*ApiTimestamp("1795977587.5", now) == "1795977587.5");
  CHECK(*ApiTimestamp("0", now) == "0");
  CHECK(*ApiTimestamp("2026-11-29T18:40:00Z", now) == "1795977600.000000000");
  CHECK(*ApiTimestamp("2026-11-29T19:40:00.25+01:00", now) == "1795977600.250000000");
  CHECK(*ApiTimestamp("2026-11-29T18:40", now) == "1795977600.000000000");
  CHECK(*ApiTimestamp("2026-11-29", now) == "1795910400.000000000");
  absl::StatusOr<std::string> bad = ApiTimestamp("yesterday", now);
  REQUIRE(!bad.ok());
  CHECK(bad.status().message() == "failed to parse value as time or duration: \"yesterday\"");
}

TEST_CASE("event times print with nine fraction digits, Z for UTC", "[cli][time]") {
  ::setenv("TZ", "UTC", 1);
  CHECK(Rfc3339NanoFixed(1795977588805906707) == "2026-11-29T18:39:48.805906707Z");
  CHECK(Rfc3339NanoFixed(1795977588000000000) == "2026-11-29T18:39:48.000000000Z");
}
