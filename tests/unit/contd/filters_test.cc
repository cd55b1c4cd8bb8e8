// contd's filter language reads as containerd's filters.Parse does.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "contd/filters.h"

namespace {

using gantry::contd::Filter;

// An object whose fields are "a.b.c" keys.
struct Fields {
  std::map<std::string, std::string> values;
  std::optional<std::string> operator()(const std::vector<std::string>& path) const {
    auto it = values.find(absl::StrJoin(path, "."));
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
};

bool Matches(const std::vector<std::string>& filters, const Fields& object) {
  absl::StatusOr<Filter> filter = Filter::ParseAny(filters);
  INFO(filter.status().ToString());
  REQUIRE(filter.ok());
  return filter->Match(object);
}

const Fields kWeb{{{"id", "web"},
                   {"image", "docker.io/library/nginx:1.25"},
                   {"labels.tier", "frontend"},
                   {"labels.com.example/owner", "team a"},
                   {"labels.empty", ""}}};

}  // namespace

TEST_CASE("no filters and an empty filter match everything", "[contd][filters]") {
  CHECK(Matches({}, kWeb));
  CHECK(Matches({""}, kWeb));
  CHECK(Matches({"  "}, Fields{}));
}

TEST_CASE("== and != compare a field with a value", "[contd][filters]") {
  CHECK(Matches({"id==web"}, kWeb));
  CHECK_FALSE(Matches({"id==db"}, kWeb));
  CHECK(Matches({"id!=db"}, kWeb));
  CHECK_FALSE(Matches({"id!=web"}, kWeb));
  // An absent field equals nothing and differs from any non-empty value.
  CHECK_FALSE(Matches({"labels.missing==x"}, kWeb));
  CHECK(Matches({"labels.missing!=x"}, kWeb));
  // Values run to the next comma and may hold '/', ':' and '.'.
  CHECK(Matches({"image==docker.io/library/nginx:1.25"}, kWeb));
}

TEST_CASE("a bare field tests presence, also of an empty value", "[contd][filters]") {
  CHECK(Matches({"labels.tier"}, kWeb));
  CHECK(Matches({"labels.empty"}, kWeb));
  CHECK_FALSE(Matches({"labels.missing"}, kWeb));
}

TEST_CASE("~= searches the field with an RE2 regular expression", "[contd][filters]") {
  CHECK(Matches({"image~=nginx"}, kWeb));
  CHECK(Matches({"image~=^docker\\.io/"}, kWeb));
  CHECK_FALSE(Matches({"image~=^nginx"}, kWeb));
  CHECK(Matches({"id~=\"^w.b$\""}, kWeb));
}

TEST_CASE("quoted strings stand for values and field path components", "[contd][filters]") {
  CHECK(Matches({"labels.\"com.example/owner\"==\"team a\""}, kWeb));
  CHECK_FALSE(Matches({"labels.\"com.example/owner\"==\"team b\""}, kWeb));
  CHECK(Matches({"labels.\"com.example/owner\"~=\"^team\""}, kWeb));
  CHECK(Matches({"\"id\"==\"w\\\"eb\""}, Fields{{{"id", "w\"eb"}}}));
  CHECK(Matches({"id==\"a,b\""}, Fields{{{"id", "a,b"}}}));
}

TEST_CASE("commas join selectors with AND, filter strings join with OR", "[contd][filters]") {
  CHECK(Matches({"id==web,labels.tier==frontend"}, kWeb));
  CHECK(Matches({"id==web, labels.tier==frontend"}, kWeb));
  CHECK_FALSE(Matches({"id==web,labels.tier==backend"}, kWeb));
  CHECK(Matches({"id==db", "labels.tier==frontend"}, kWeb));
  CHECK_FALSE(Matches({"id==db", "labels.tier==backend"}, kWeb));
}

TEST_CASE("a malformed filter is INVALID_ARGUMENT naming the filter", "[contd][filters]") {
  for (const char* bad : {"id=web", "id==", "==web", "labels.==x", "id==web,", "id==\"open",
                          "id~=(", "id web", "labels.\"a\\q\"==x"}) {
    absl::StatusOr<Filter> filter = Filter::Parse(bad);
    INFO(bad);
    REQUIRE_FALSE(filter.ok());
    CHECK(filter.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(filter.status().message()),
               Catch::Contains(std::string("filter \"") + bad + "\""));
  }
  absl::StatusOr<Filter> any = Filter::ParseAny({"id==web", "id=="});
  REQUIRE_FALSE(any.ok());
  CHECK_THAT(std::string(any.status().message()), Catch::Contains("filter \"id==\""));
}
