// docker import's image: the config Docker writes for a rootfs tarball, and
// the Dockerfile instructions --change applies.
#include <archive.h>
#include <archive_entry.h>

#include <map>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/digest.h"
#include "engined/images/rootfs_image.h"

using gantry::engined::ApplyDockerfileChanges;
using gantry::engined::RootfsImageArchive;
using gantry::engined::RootfsImageOptions;

namespace {

// The members of a tar in memory, by name.
std::map<std::string, std::string> Members(const std::string& tar) {
  std::map<std::string, std::string> members;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    std::string data(static_cast<size_t>(archive_entry_size(entry)), '\0');
    archive_read_data(a, data.data(), data.size());
    members[archive_entry_pathname(entry)] = data;
  }
  archive_read_free(a);
  return members;
}

}  // namespace

TEST_CASE("--change instructions set the image's container config", "[import]") {
  nlohmann::json config = nlohmann::json::object();
  REQUIRE(
      ApplyDockerfileChanges({"CMD [\"echo\", \"hi\"]", "entrypoint /bin/run now",
                              "ENV A=b C=\"d\"", "ENV E f g", "LABEL x=y", "EXPOSE 80 53/udp",
                              "VOLUME /data", "USER nobody", "WORKDIR /srv", "STOPSIGNAL SIGINT"},
                             config)
          .ok());
  CHECK(config["Cmd"] == nlohmann::json({"echo", "hi"}));
  CHECK(config["Entrypoint"] == nlohmann::json({"/bin/sh", "-c", "/bin/run now"}));
  CHECK(config["Env"] == nlohmann::json({"A=b", "C=d", "E=f g"}));
  CHECK(config["Labels"] == nlohmann::json({{"x", "y"}}));
  CHECK(config["ExposedPorts"] == nlohmann::json({{"80/tcp", nlohmann::json::object()},
                                                  {"53/udp", nlohmann::json::object()}}));
  CHECK(config["Volumes"] == nlohmann::json({{"/data", nlohmann::json::object()}}));
  CHECK(config["User"] == "nobody");
  CHECK(config["WorkingDir"] == "/srv");
  CHECK(config["StopSignal"] == "SIGINT");

  absl::Status bad = ApplyDockerfileChanges({"RUN make"}, config);
  CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad.message() == "import: change \"RUN make\": RUN is not a supported instruction");
  CHECK_FALSE(ApplyDockerfileChanges({"CMD"}, config).ok());
}

TEST_CASE("a rootfs tarball becomes a one-layer docker-archive", "[import]") {
  // An empty tar: two zero blocks.
  const std::string layer(1024, '\0');
  absl::StatusOr<std::string> archive =
      RootfsImageArchive(layer, {.name = "docker.io/library/mine:v1",
                                 .changes = {"CMD [\"sh\"]"},
                                 .message = "",
                                 .created = absl::FromUnixSeconds(1700000000)});
  REQUIRE(archive.ok());
  std::map<std::string, std::string> members = Members(*archive);
  REQUIRE(members.count("manifest.json") == 1);
  const nlohmann::json manifest = nlohmann::json::parse(members["manifest.json"]);
  CHECK(manifest[0]["RepoTags"] == nlohmann::json({"docker.io/library/mine:v1"}));
  const std::string diff_id = gantry::Digest::FromBytes(layer).str();
  CHECK(manifest[0]["Layers"][0] == diff_id.substr(7) + "/layer.tar");
  const std::string config_text = members[manifest[0]["Config"].get<std::string>()];
  CHECK(manifest[0]["Config"] == gantry::Digest::FromBytes(config_text).hex() + ".json");
  const nlohmann::json config = nlohmann::json::parse(config_text);
  CHECK(config["rootfs"]["diff_ids"] == nlohmann::json({diff_id}));
  CHECK(config["config"]["Cmd"] == nlohmann::json({"sh"}));
  CHECK(config["created"] == "2023-11-14T22:13:20Z");
  CHECK(config["history"][0]["comment"] == "Imported from -");
  CHECK(config["os"] == "linux");

  CHECK(RootfsImageArchive("", {}).status().code() == absl::StatusCode::kInvalidArgument);
  absl::Status not_tar = RootfsImageArchive("garbage\n", {}).status();
  CHECK(not_tar.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StartsWith(not_tar.message(), "import: the tarball is not a tar archive"));
}
