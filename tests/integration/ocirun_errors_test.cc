// Bad input to the built `ocirun` binary: each mistake ends with exit code 1
// and one line "ocirun: <what>: <why>" naming the field, and leaves nothing
// behind (no state directory under --root, no cgroup, no process). Errors also
// reach --log in logrus's shape, which containerd's shim parses.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "tests/integration/ocirun_test_util.h"

namespace {

using namespace ocirun_test;
using nlohmann::json;

// Exit code 1 and a single "ocirun: ..." line on stderr.
void CheckOneLineError(const ProcessResult& r) {
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK(absl::StartsWith(r.err, "ocirun: "));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(absl::EndsWith(r.err, "\n"));
  CHECK(r.out.empty());
}

void CheckNothingLeft(OcirunEnv& env, const std::string& id) {
  CHECK_FALSE(Exists(env.root() + "/" + id));
  CHECK(ExistingCgroupDirs(id).empty());
  CHECK(env.Ocirun({"list", "-q"}).out.empty());
}

struct BadBundle {
  const char* what;
  std::function<void(OcirunEnv&)> edit;  // breaks the saved bundle
  const char* expected;                  // a part of the error line
};

}  // namespace

TEST_CASE("create refuses a bad bundle with one line naming the problem, leaving nothing",
          "[ocirun][errors]") {
  const std::vector<BadBundle> cases = {
      {"missing config.json", [](OcirunEnv& e) { ::unlink((e.bundle() + "/config.json").c_str()); },
       "config.json"},
      {"malformed JSON", [](OcirunEnv& e) { WriteFile(e.bundle() + "/config.json", "{bad"); },
       "config.json: invalid JSON"},
      {"process.args given as a string",
       [](OcirunEnv& e) {
         e.config()["process"]["args"] = "sh";
         e.Save();
       },
       "ocirun: config.json: process.args: expected array of strings\n"},
      {"an unknown namespace type",
       [](OcirunEnv& e) {
         e.config()["linux"]["namespaces"].push_back({{"type", "foo"}});
         e.Save();
       },
       "linux.namespaces[5].type: unknown namespace type \"foo\""},
      {"an unknown capability",
       [](OcirunEnv& e) {
         e.config()["process"]["capabilities"]["bounding"].push_back("CAP_FOO");
         e.Save();
       },
       "process.capabilities.bounding: unknown capability \"CAP_FOO\""},
      {"an unknown rlimit",
       [](OcirunEnv& e) {
         e.config()["process"]["rlimits"][0]["type"] = "RLIMIT_FOO";
         e.Save();
       },
       "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
      {"a relative mount destination",
       [](OcirunEnv& e) {
         e.config()["mounts"].push_back({{"destination", "relative"}, {"type", "tmpfs"}});
         e.Save();
       },
       "mounts[7].destination"},
      {"a missing rootfs",
       [](OcirunEnv& e) {
         e.config()["root"]["path"] = "no-such-rootfs";
         e.Save();
       },
       "root.path"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.what) {
      OcirunEnv env;
      env.Save();
      c.edit(env);
      std::string id = env.NewId();
      auto r = env.Ocirun({"create", "--bundle", env.bundle(), id});
      CheckOneLineError(r);
      CHECK(absl::StrContains(r.err, c.expected));
      CheckNothingLeft(env, id);
    }
  }
}

TEST_CASE("create fails cleanly when the container's init cannot finish its setup",
          "[ocirun][errors]") {
  OcirunEnv env;
  SECTION("a bind mount whose source does not exist") {
    env.config()["mounts"].push_back({{"destination", "/data"},
                                      {"type", "bind"},
                                      {"source", env.dir() + "/no-such-dir"},
                                      {"options", {"rbind"}}});
    env.Save();
    std::string id = env.NewId();
    auto r = env.Ocirun({"create", "--bundle", env.bundle(), id});
    CheckOneLineError(r);
    CHECK(absl::StrContains(r.err, "mounts[7]"));
    CHECK(absl::StrContains(r.err, "no-such-dir"));
    CheckNothingLeft(env, id);
  }
  SECTION("a program that is not in the rootfs (runc: executable file not found in $PATH)") {
    env.config()["process"]["args"] = {"no-such-program"};
    env.Save();
    std::string id = env.NewId();
    auto r = env.Ocirun({"create", "--bundle", env.bundle(), id});
    CheckOneLineError(r);
    CHECK(
        absl::StrContains(r.err, "exec: \"no-such-program\": executable file not found in $PATH"));
    CheckNothingLeft(env, id);
  }
}

TEST_CASE("container ids must be new and well formed", "[ocirun][errors]") {
  OcirunEnv env;
  env.SetScript("exec sleep 1000");
  SECTION("an id already in use is refused and the existing container is untouched") {
    std::string id = env.Create();
    json before = env.State(id);
    auto r = env.Ocirun({"create", "--bundle", env.bundle(), id});
    CheckOneLineError(r);
    CHECK(absl::StrContains(r.err, id));
    CHECK(absl::StrContains(r.err, "already exists"));
    CHECK(env.State(id) == before);
    CHECK(ProcessAlive(before["pid"].get<pid_t>()));
  }
  SECTION("illegal characters (runc: [\\w+-.]+, and no path tricks)") {
    for (const char* id : {"a/b", "../escape", "..", "with space", "semi;colon"}) {
      INFO(id);
      auto r = env.Ocirun({"create", "--bundle", env.bundle(), id});
      CheckOneLineError(r);
      CHECK(absl::StrContains(r.err, "invalid container id"));
    }
    CHECK_FALSE(Exists(env.dir() + "/escape"));
    CHECK(env.Ocirun({"list", "-q"}).out.empty());
  }
  SECTION("commands on an unknown id say it does not exist (runc: container does not exist)") {
    for (std::vector<std::string> args : {std::vector<std::string>{"state", "nope"},
                                          {"start", "nope"},
                                          {"kill", "nope"},
                                          {"delete", "nope"},
                                          {"pause", "nope"},
                                          {"ps", "nope"}}) {
      INFO(args[0]);
      auto r = env.Ocirun(args);
      CheckOneLineError(r);
      CHECK(absl::StrContains(r.err, "does not exist"));
    }
  }
}

TEST_CASE("--log records errors as logrus lines, JSON with --log-format json", "[ocirun][log]") {
  OcirunEnv env;
  std::string log = env.dir() + "/ocirun.log";
  SECTION("json") {
    auto r = env.Ocirun({"--log", log, "--log-format", "json", "state", "nope"});
    CheckOneLineError(r);  // the user still reads stderr
    auto text = ReadFile(log);
    REQUIRE(text);
    std::vector<std::string> lines = absl::StrSplit(*text, '\n', absl::SkipEmpty());
    REQUIRE(lines.size() == 1);
    json line = json::parse(lines[0]);
    CHECK(line["level"] == "error");
    CHECK(line["msg"] == "container \"nope\" does not exist");
    REQUIRE(line["time"].is_string());
    std::string time = line["time"];
    // RFC 3339, as logrus writes it: 2026-01-02T03:04:05Z or with an offset.
    CHECK(time.size() >= 20);
    CHECK(time[4] == '-');
    CHECK(time[10] == 'T');
    // Fields in logrus's (alphabetical) order: the shim reads them as JSON anyway.
    CHECK(absl::StartsWith(lines[0], "{\"level\":\"error\",\"msg\":"));
  }
  SECTION("text") {
    auto r = env.Ocirun({"--log", log, "state", "nope"});
    CheckOneLineError(r);
    auto text = ReadFile(log);
    REQUIRE(text);
    CHECK(absl::StartsWith(*text, "time=\""));
    CHECK(absl::StrContains(*text, " level=error msg=\"container \\\"nope\\\" does not exist\"\n"));
  }
  SECTION("appended, not truncated") {
    env.Ocirun({"--log", log, "--log-format", "json", "state", "nope"});
    env.Ocirun({"--log", log, "--log-format", "json", "kill", "nope"});
    auto text = ReadFile(log);
    REQUIRE(text);
    CHECK(std::count(text->begin(), text->end(), '\n') == 2);
  }
  SECTION("an unknown --log-format is itself an error") {
    auto r = env.Ocirun({"--log-format", "xml", "list"});
    CheckOneLineError(r);
    CHECK(absl::StrContains(r.err, "xml"));
  }
}
