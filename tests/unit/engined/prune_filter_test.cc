// The filters of `docker container prune` and `docker image prune`.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/time/time.h"
#include "engined/api/prune_filter.h"

using gantry::engined::Filters;
using gantry::engined::PruneFilter;

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

PruneFilter Filter(const Filters& filters) {
  absl::StatusOr<PruneFilter> filter = PruneFilter::From(filters, kNow, {"dangling"});
  REQUIRE(filter.ok());
  return *filter;
}

}  // namespace

TEST_CASE("no filters prune everything", "[prune]") {
  CHECK(Filter({}).Matches(nlohmann::json::object(), kNow));
  CHECK(Filter({{"dangling", {"true"}}}).Matches(nullptr, kNow));
}

TEST_CASE("every label must match and no label! may", "[prune]") {
  const nlohmann::json labels = {{"tier", "web"}, {"tmp", "1"}};
  CHECK(Filter({{"label", {"tmp"}}}).Matches(labels, kNow));
  CHECK(Filter({{"label", {"tmp", "tier=web"}}}).Matches(labels, kNow));
  CHECK_FALSE(Filter({{"label", {"tmp", "tier=db"}}}).Matches(labels, kNow));
  CHECK_FALSE(Filter({{"label", {"keep"}}}).Matches(nlohmann::json::object(), kNow));
  CHECK_FALSE(Filter({{"label!", {"tier=web"}}}).Matches(labels, kNow));
  CHECK(Filter({{"label!", {"keep"}}}).Matches(labels, kNow));
}

TEST_CASE("until keeps what was created after it", "[prune]") {
  const PruneFilter hour = Filter({{"until", {"1h"}}});
  CHECK(hour.Matches(nullptr, kNow - absl::Hours(2)));
  CHECK_FALSE(hour.Matches(nullptr, kNow - absl::Minutes(30)));
  CHECK(Filter({{"until", {"1699999999"}}}).Matches(nullptr, kNow - absl::Seconds(5)));
  CHECK_FALSE(Filter({{"until", {"2023-11-14T22:00:00Z"}}}).Matches(nullptr, kNow));

  absl::StatusOr<PruneFilter> bad = PruneFilter::From({{"until", {"soon"}}}, kNow);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "failed to parse value of filter until: \"soon\" is not a time");
  absl::StatusOr<PruneFilter> unknown = PruneFilter::From({{"colour", {"red"}}}, kNow);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message() == "invalid filter 'colour'");
}
