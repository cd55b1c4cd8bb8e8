// Query strings as the docker CLI sends them: booleans, integers, filters.
#include <catch2/catch.hpp>

#include "engined/api/api_version.h"
#include "engined/api/query.h"

using gantry::engined::QueryParams;

TEST_CASE("booleans read as dockerd reads them", "[query]") {
  QueryParams query = *QueryParams::Parse("a=1&b=true&c=0&d=false&e=&f=no&g=None&h=yes");
  CHECK(query.GetBool("a"));
  CHECK(query.GetBool("b"));
  CHECK_FALSE(query.GetBool("c"));
  CHECK_FALSE(query.GetBool("d"));
  CHECK_FALSE(query.GetBool("e"));
  CHECK_FALSE(query.GetBool("f"));
  CHECK_FALSE(query.GetBool("g"));
  CHECK(query.GetBool("h"));
  CHECK_FALSE(query.GetBool("missing"));
}

TEST_CASE("values are URL-decoded", "[query]") {
  QueryParams query = *QueryParams::Parse("name=a%20b+c&tag=x%3Ay");
  CHECK(query.Get("name") == "a b c");
  CHECK(query.Get("tag") == "x:y");
  CHECK_FALSE(QueryParams::Parse("bad=%zz").ok());
  CHECK_FALSE(QueryParams::Parse("bad=%2").ok());
}

TEST_CASE("integers are checked", "[query]") {
  QueryParams query = *QueryParams::Parse("limit=5&t=abc");
  CHECK(query.GetInt("limit")->value() == 5);
  CHECK_FALSE(query.GetInt("missing")->has_value());
  absl::StatusOr<std::optional<int64_t>> bad = query.GetInt("t");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "invalid value for t: \"abc\" is not an integer");
}

TEST_CASE("filters in both JSON shapes", "[query]") {
  // {"label":{"a=b":true},"status":{"running":true}}, URL-encoded as the CLI does.
  QueryParams current = *QueryParams::Parse(
      "filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%2C%22status%22%3A%7B%22running%22%3Atrue%"
      "7D%7D");
  gantry::engined::Filters filters = *current.GetFilters();
  CHECK(filters["label"] == std::set<std::string>{"a=b"});
  CHECK(filters["status"] == std::set<std::string>{"running"});

  QueryParams legacy = *QueryParams::Parse("filters=%7B%22name%22%3A%5B%22web%22%2C%22db%22%5D%7D");
  CHECK((*legacy.GetFilters())["name"] == std::set<std::string>{"db", "web"});

  CHECK(QueryParams::Parse("")->GetFilters()->empty());
  CHECK_FALSE(QueryParams::Parse("filters=notjson")->GetFilters().ok());
  CHECK_FALSE(QueryParams::Parse("filters=%7B%22a%22%3A1%7D")->GetFilters().ok());
}

TEST_CASE("API versions parse and order numerically", "[version]") {
  using gantry::engined::ParseApiVersion;
  CHECK(ParseApiVersion("1.41")->minor == 41);
  CHECK(*ParseApiVersion("1.9") < *ParseApiVersion("1.24"));
  CHECK_FALSE(ParseApiVersion("1").ok());
  CHECK_FALSE(ParseApiVersion("1.x").ok());
  CHECK_FALSE(ParseApiVersion("1.2.3").ok());
  CHECK(gantry::engined::CheckApiVersion({1, 24}).ok());
  CHECK(gantry::engined::CheckApiVersion({1, 43}).ok());
  CHECK_FALSE(gantry::engined::CheckApiVersion({1, 44}).ok());
  CHECK_FALSE(gantry::engined::CheckApiVersion({1, 23}).ok());
}

TEST_CASE("a repeated parameter gives every value, in order", "[query]") {
  QueryParams query = *QueryParams::Parse("names=busybox&names=alpine%3A3&other=x");
  CHECK(query.GetAll("names") == std::vector<std::string>{"busybox", "alpine:3"});
  CHECK(query.Get("names") == "busybox");
  CHECK(query.GetAll("missing").empty());
}
