// The --format template engine: what docker users write, and what Go's
// text/template prints for it.
#include "cli/format/template.h"

#include <catch2/catch.hpp>

namespace {

using gantry::cli::Template;
using nlohmann::json;

std::string Render(const std::string& text, const json& data) {
  absl::StatusOr<Template> t = Template::Parse(text);
  INFO(text << ": " << t.status().ToString());
  REQUIRE(t.ok());
  absl::StatusOr<std::string> out = t->Render(data);
  INFO(out.status().ToString());
  REQUIRE(out.ok());
  return *out;
}

const json kContainer = {
    {"Id", "abc"},
    {"Name", "/web"},
    {"State", {{"Running", true}, {"Pid", 4242}, {"ExitCode", 0}, {"Status", "running"}}},
    {"Config", {{"Env", {"A=1", "B=2"}}, {"Labels", {{"x", "y"}}}, {"Cmd", nullptr}}},
    {"Mounts", json::array({{{"Source", "/a"}, {"Destination", "/b"}}})}};

}  // namespace

TEST_CASE("fields, nested fields and literal text", "[cli][template]") {
  CHECK(Render("{{.Id}}", kContainer) == "abc");
  CHECK(Render("{{.State.Running}} {{.State.Pid}} {{.Name}}", kContainer) == "true 4242 /web");
  CHECK(Render("id={{ .Id }}!", kContainer) == "id=abc!");
  CHECK(Render("no actions", kContainer) == "no actions");
}

TEST_CASE("values print as Go prints decoded JSON", "[cli][template]") {
  CHECK(Render("{{.Config.Env}}", kContainer) == "[A=1 B=2]");
  CHECK(Render("{{.Config.Labels}}", kContainer) == "map[x:y]");
  CHECK(Render("{{.Config.Cmd}}", kContainer) == "<nil>");
  CHECK(Render("{{.Missing}}", kContainer) == "<no value>");
  CHECK(Render("{{.Missing.Deeper}}", kContainer) == "<no value>");
}

TEST_CASE("json, len, join, index, upper and pipelines", "[cli][template]") {
  CHECK(Render("{{json .State}}", kContainer) ==
        R"({"ExitCode":0,"Pid":4242,"Running":true,"Status":"running"})");
  CHECK(Render("{{json .}}", json{{"A", "1"}}) == R"({"A":"1"})");
  CHECK(Render("{{len .Config.Env}}", kContainer) == "2");
  CHECK(Render("{{join .Config.Env \",\"}}", kContainer) == "A=1,B=2");
  CHECK(Render("{{index .Config.Labels \"x\"}}", kContainer) == "y");
  CHECK(Render("{{.State.Status | upper}}", kContainer) == "RUNNING");
  CHECK(Render("{{upper .Name | lower}}", kContainer) == "/web");
  CHECK(Render("{{json .Config.Env | len}}", kContainer) == "13");
}

TEST_CASE("if, else, range and whitespace trimming", "[cli][template]") {
  CHECK(Render("{{if .State.Running}}up{{else}}down{{end}}", kContainer) == "up");
  CHECK(Render("{{if .Missing}}up{{else}}down{{end}}", kContainer) == "down");
  CHECK(Render("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", kContainer) == "/a:/b ");
  CHECK(Render("{{range .Config.Env}}[{{.}}]{{end}}", kContainer) == "[A=1][B=2]");
  CHECK(Render("a  {{- .Id -}}  b", kContainer) == "aabcb");
}

TEST_CASE("template errors say what is wrong", "[cli][template]") {
  absl::StatusOr<Template> unknown = Template::Parse("{{nosuch .Id}}");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message() == "template parsing error: function \"nosuch\" not defined");
  CHECK_FALSE(Template::Parse("{{.Id").ok());
  CHECK_FALSE(Template::Parse("{{if .Id}}x").ok());
  CHECK_FALSE(Template::Parse("{{end}}").ok());
  absl::StatusOr<Template> len = Template::Parse("{{len .State.Pid}}");
  REQUIRE(len.ok());
  CHECK_FALSE(len->Render(kContainer).ok());
}

TEST_CASE("table headers: every function gives the column's name", "[cli][template]") {
  absl::StatusOr<Template> t = Template::Parse("{{.Names}}\t{{json .Status}}\t{{upper .ID}}");
  REQUIRE(t.ok());
  absl::StatusOr<std::string> header =
      t->RenderHeader({{"Names", "NAMES"}, {"Status", "STATUS"}, {"ID", "CONTAINER ID"}});
  REQUIRE(header.ok());
  CHECK(*header == "NAMES\tSTATUS\tCONTAINER ID");
}
