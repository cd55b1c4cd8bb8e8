// docker's list output: tabwriter alignment, table headers, truncation and
// units.
#include "cli/format/table.h"

#include <catch2/catch.hpp>

#include "absl/time/clock.h"
#include "cli/commands/container_config.h"
#include "cli/commands/list_rows.h"
#include "cli/format/units.h"

namespace {

using namespace gantry::cli;
using nlohmann::json;

json Container(const std::string& command) {
  return {{"Id", "2315bb470138b125402e37c1c8174a440294e2e95546ee683083ecf1ca791324"},
          {"Names", {"/web"}},
          {"Image", "127.0.0.1:5000/busybox"},
          {"Command", command},
          {"Created", absl::ToUnixSeconds(absl::Now()) - 120},
          {"State", "running"},
          {"Status", "Up 2 minutes"},
          {"Ports", json::array()},
          {"Labels", {{"a", "b"}}}};
}

}  // namespace

TEST_CASE("columns are aligned as Go's tabwriter (min 10, padding 3)", "[cli][table]") {
  CHECK(AlignColumns("A\tBB\tC\nlonger-cell-here\tx\ty") ==
        "A                  BB        C\n"
        "longer-cell-here   x         y");
  // The last cell is not padded; an empty cell still is.
  CHECK(AlignColumns("PORTS\tNAMES\n\tweb") == "PORTS     NAMES\n          web");
  // Width counts characters, not bytes.
  CHECK(AlignColumns("\"sh -c echo…\"\tz\nab\tz") == "\"sh -c echo…\"   z\nab              z");
}

TEST_CASE("ps: docker's default table, header and truncation", "[cli][table]") {
  std::vector<json> rows = {ContainerRow(Container("sh -c echo started; exec sleep 300"), false)};
  absl::StatusOr<std::string> out = FormatList("", rows, ContainerHeaders(), kPsTable);
  REQUIRE(out.ok());
  CHECK(*out ==
        "CONTAINER ID   IMAGE                    COMMAND                  CREATED         STATUS"
        "         PORTS     NAMES\n"
        "2315bb470138   127.0.0.1:5000/busybox   \"sh -c echo started;…\"   2 minutes ago   "
        "Up 2 minutes             web\n");
  json full = ContainerRow(Container("sh -c echo started; exec sleep 300"), true);
  CHECK(full["Command"] == "\"sh -c echo started; exec sleep 300\"");
  CHECK(full["ID"].get<std::string>().size() == 64);
  CHECK(full["Labels"] == "a=b");
}

TEST_CASE("--format: plain, table, json", "[cli][table]") {
  std::vector<json> rows = {ContainerRow(Container("true"), false)};
  CHECK(*FormatList("{{.Names}} {{.Status}}", rows, ContainerHeaders(), kPsTable) ==
        "web Up 2 minutes\n");
  CHECK(*FormatList("table {{.Names}}\\t{{.State}}", rows, ContainerHeaders(), kPsTable) ==
        "NAMES     STATE\nweb       running\n");
  absl::StatusOr<std::string> as_json = FormatList("json", rows, ContainerHeaders(), kPsTable);
  REQUIRE(as_json.ok());
  CHECK(json::parse(*as_json)["Names"] == "web");
  CHECK_FALSE(FormatList("{{.Names", rows, ContainerHeaders(), kPsTable).ok());
}

TEST_CASE("images: one row per tag, <none> for untagged", "[cli][table]") {
  json images = json::array(
      {{{"Id", "sha256:e67c637d6897aaaa"},
        {"RepoTags", {"busybox:latest", "busybox:v2"}},
        {"Created", 0},
        {"Size", 1032000}},
       {{"Id", "sha256:0123456789abcdef"}, {"RepoTags", nullptr}, {"Created", 0}, {"Size", 5}}});
  std::vector<json> rows = ImageRows(images, false, false);
  REQUIRE(rows.size() == 3);
  CHECK(rows[1]["Tag"] == "v2");
  CHECK(rows[2]["Repository"] == "<none>");
  CHECK(rows[0]["ID"] == "e67c637d6897");
  CHECK(rows[0]["Size"] == "1.03MB");
}

TEST_CASE("sizes and durations as go-units prints them", "[cli][table]") {
  CHECK(HumanSize(0) == "0B");
  CHECK(HumanSize(1032000, 3) == "1.03MB");
  CHECK(HumanSize(1032000) == "1.032MB");
  CHECK(HumanSize(12000) == "12kB");
  CHECK(HumanDuration(0) == "Less than a second");
  CHECK(HumanDuration(1) == "1 second");
  CHECK(HumanDuration(75) == "About a minute");
  CHECK(HumanDuration(3 * 3600) == "3 hours");
  CHECK(HumanDuration(3 * 86400) == "3 days");
  CHECK(Ellipsis("abcdef", 4) == "abc…");
  CHECK(Ellipsis("abcd", 4) == "abcd");
}

TEST_CASE("run flags become docker's create body", "[cli][run]") {
  ContainerFlags flags;
  flags.args = {"busybox", "sh", "-c", "true"};
  flags.env = {"FOO=bar"};
  flags.workdir = "/tmp";
  flags.memory = "64m";
  flags.cpus = 1.5;
  flags.restart = "on-failure:2";
  flags.mounts = {"type=tmpfs,target=/scratch,tmpfs-size=1m", "type=bind,src=/a,dst=/b,readonly"};
  flags.volumes = {"/x:/y:ro"};
  absl::StatusOr<json> body = CreateContainerBody(flags);
  REQUIRE(body.ok());
  CHECK((*body)["Cmd"] == json({"sh", "-c", "true"}));
  CHECK((*body)["Env"] == json({"FOO=bar"}));
  CHECK((*body)["HostConfig"]["Memory"] == 64 * 1024 * 1024);
  CHECK((*body)["HostConfig"]["NanoCpus"] == 1500000000);
  CHECK((*body)["HostConfig"]["RestartPolicy"] ==
        json({{"Name", "on-failure"}, {"MaximumRetryCount", 2}}));
  // --mount bind and tmpfs as the Binds and Tmpfs every engine reads.
  CHECK((*body)["HostConfig"]["Tmpfs"] == json({{"/scratch", "size=1048576"}}));
  CHECK((*body)["HostConfig"]["Binds"] == json({"/x:/y:ro", "/a:/b:ro"}));
  CHECK_FALSE((*body)["HostConfig"].contains("Mounts"));
  CHECK((*ParseMount("type=tmpfs,target=/t,tmpfs-size=1m"))["TmpfsOptions"]["SizeBytes"] ==
        1024 * 1024);
  CHECK_FALSE(body->contains("Entrypoint"));

  flags.auto_remove = true;
  CHECK(CreateContainerBody(flags).status().message() == "Conflicting options: --restart and --rm");
  CHECK_FALSE(ParseMemory("12q").ok());
  CHECK(*ParseMemory("1gb") == 1024LL * 1024 * 1024);
  CHECK_FALSE(ParseRestartPolicy("sometimes").ok());
  CHECK_FALSE(ParseMount("type=bind,target=/b").ok());
}
