#include "common/json_util.h"

#include <catch2/catch.hpp>

using gantry::JsonReader;
using nlohmann::json;

TEST_CASE("typed reads fill fields and leave absent ones alone", "[json]") {
  json doc = json::parse(R"({"args":["sh","-c"],"terminal":true,"uid":1000,
                             "env":{"A":"1"},"nested":{"name":"x"}})");
  JsonReader r(doc, "process");
  std::vector<std::string> args;
  bool terminal = false;
  uint32_t uid = 0;
  std::string cwd = "/";
  std::map<std::string, std::string> env;
  std::optional<int64_t> score;
  r.Required("args", args).Optional("terminal", terminal).Optional("uid", uid);
  r.Optional("cwd", cwd).Optional("env", env).Optional("oomScoreAdj", score);
  std::string name;
  r.Object("nested").Required("name", name);
  REQUIRE(r.ok());
  CHECK(args == std::vector<std::string>{"sh", "-c"});
  CHECK(terminal);
  CHECK(uid == 1000);
  CHECK(cwd == "/");
  CHECK(env.at("A") == "1");
  CHECK_FALSE(score.has_value());
}

TEST_CASE("type errors name the field by its full path", "[json]") {
  auto problem = [](const char* text, auto out, const char* key) {
    json doc = json::parse(text);
    JsonReader r(doc, "process");
    r.Optional(key, out);
    return std::string(r.status().message());
  };
  CHECK(problem(R"({"args":"sh"})", std::vector<std::string>{}, "args") ==
        "process.args: expected array of strings");
  CHECK(problem(R"({"args":["sh",1]})", std::vector<std::string>{}, "args") ==
        "process.args: expected array of strings");
  CHECK(problem(R"({"uid":-1})", uint32_t{}, "uid") ==
        "process.uid: expected non-negative integer");
  CHECK(problem(R"({"uid":4294967296})", uint32_t{}, "uid") == "process.uid: integer out of range");
  CHECK(problem(R"({"terminal":"yes"})", false, "terminal") ==
        "process.terminal: expected boolean");
}

TEST_CASE("non-negative signed integers fill unsigned fields", "[json]") {
  json doc = {{"uid", json::number_integer_t{1000}}};
  uint32_t uid = 0;
  JsonReader r(doc, "user");
  r.Required("uid", uid);
  CHECK(r.ok());
  CHECK(uid == 1000);
}

TEST_CASE("missing required fields and non-objects are reported", "[json]") {
  json doc = json::parse(R"({"root":{}})");
  JsonReader top(doc, "");
  std::string path;
  top.Object("root").Required("path", path);
  CHECK(top.status().message() == "root.path: required field is missing");

  json arr = json::parse("[1]");
  JsonReader bad(arr, "linux");
  CHECK(bad.status().message() == "linux: expected object");
}

TEST_CASE("parse errors name the source", "[json]") {
  auto r = gantry::ParseJson("{\"a\":", "config.json");
  REQUIRE_FALSE(r.ok());
  CHECK(std::string(r.status().message()).rfind("config.json: invalid JSON", 0) == 0);
}
