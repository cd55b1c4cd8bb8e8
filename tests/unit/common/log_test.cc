#include "common/log.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace glog = gantry::log;

TEST_CASE("log lines use logrus' text and json shapes", "[log]") {
  REQUIRE(glog::Configure("", glog::Format::kText, glog::Level::kInfo).ok());
  CHECK(glog::FormatLine(glog::Level::kError, "container \"a\" not found", "T") ==
        "time=\"T\" level=error msg=\"container \\\"a\\\" not found\"\n");

  REQUIRE(glog::Configure("", glog::Format::kJson, glog::Level::kInfo).ok());
  auto line = nlohmann::json::parse(glog::FormatLine(glog::Level::kWarning, "careful", "T"));
  CHECK(line == nlohmann::json{{"level", "warning"}, {"msg", "careful"}, {"time", "T"}});
  REQUIRE(glog::Configure("", glog::Format::kText, glog::Level::kInfo).ok());
}

TEST_CASE("unknown log formats are refused by name", "[log]") {
  CHECK(glog::ParseFormat("json").ok());
  CHECK(glog::ParseFormat("xml").status().message() ==
        "--log-format: unknown format \"xml\" (want text or json)");
}
