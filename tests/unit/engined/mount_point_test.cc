// How a create's Binds, Mounts, VolumesFrom and Volumes become mount points.
#include "engined/volumes/mount_point.h"

#include <catch2/catch.hpp>

namespace {

using gantry::engined::MountPoint;
using gantry::engined::ParseMountPoints;

absl::StatusOr<std::vector<MountPoint>> Parse(const nlohmann::json& config,
                                              const nlohmann::json& host_config) {
  return ParseMountPoints(config, host_config,
                          [](const std::string& ref) -> absl::StatusOr<std::vector<MountPoint>> {
                            if (ref != "data")
                              return absl::NotFoundError("No such container: " + ref);
                            MountPoint shared;
                            shared.type = "volume";
                            shared.name = "shared";
                            shared.destination = "/shared";
                            shared.anonymous = true;
                            shared.copy_data = true;
                            return std::vector<MountPoint>{shared};
                          });
}

}  // namespace

TEST_CASE("Binds are host paths or volume names, with modes", "[mounts]") {
  auto mounts = Parse(nlohmann::json::object(),
                      {{"Binds", {"/srv/a:/a:ro,rshared", "cache:/c", "cache2:/d:nocopy,rw"}}});
  REQUIRE(mounts.ok());
  REQUIRE(mounts->size() == 3);
  const MountPoint& bind = (*mounts)[0];
  CHECK(bind.type == "bind");
  CHECK(bind.source == "/srv/a");
  CHECK(!bind.rw);
  CHECK(bind.propagation == "rshared");
  CHECK(bind.create_host_path);
  const MountPoint& volume = (*mounts)[1];
  CHECK(volume.type == "volume");
  CHECK(volume.name == "cache");
  CHECK(volume.mode == "z");
  CHECK(volume.copy_data);
  CHECK(!volume.anonymous);
  CHECK(!(*mounts)[2].copy_data);
  CHECK(volume.ToJson() == nlohmann::json{{"Type", "volume"},
                                          {"Name", "cache"},
                                          {"Source", ""},
                                          {"Destination", "/c"},
                                          {"Driver", "local"},
                                          {"Mode", "z"},
                                          {"RW", true},
                                          {"Propagation", ""}});
}

TEST_CASE("bad mount specifications name the field", "[mounts]") {
  const auto error = [](const nlohmann::json& host_config) {
    auto mounts = Parse(nlohmann::json::object(), host_config);
    REQUIRE(!mounts.ok());
    return std::string(mounts.status().message());
  };
  CHECK(error({{"Binds", {"/a"}}}) == "HostConfig.Binds: invalid volume specification: '/a'");
  CHECK(error({{"Binds", {"/a:b"}}}).find("destination must be an absolute path") !=
        std::string::npos);
  CHECK(error({{"Binds", {"/a:/"}}}).find("destination can't be '/'") != std::string::npos);
  CHECK(error({{"Binds", {"a/b:/x"}}}).find("invalid characters") != std::string::npos);
  CHECK(error({{"Binds", {"/a:/x:bogus"}}}).find("unknown option bogus") != std::string::npos);
  CHECK(error({{"Binds", {"vol:/x:rshared"}}}).find("propagation is for bind mounts") !=
        std::string::npos);
  CHECK(error({{"Binds", {"/a:/x", "/b:/x/"}}}) == "HostConfig.Binds: Duplicate mount point: /x");
  CHECK(error({{"Mounts", {{{"Type", "npipe"}, {"Target", "/x"}}}}}) ==
        "HostConfig.Mounts[0].Type: \"npipe\" is not supported (bind, volume, tmpfs)");
  CHECK(error({{"Mounts", {{{"Type", "bind"}, {"Source", "rel"}, {"Target", "/x"}}}}}) ==
        "HostConfig.Mounts[0].Source: \"rel\" is not an absolute path");
  CHECK(error({{"VolumesFrom", {"missing"}}}) ==
        "HostConfig.VolumesFrom: No such container: missing");
}

TEST_CASE("Mounts give volumes, binds and tmpfs", "[mounts]") {
  auto mounts =
      Parse(nlohmann::json::object(), {{"Mounts",
                                        {{{"Type", "volume"},
                                          {"Target", "/v"},
                                          {"VolumeOptions",
                                           {{"NoCopy", true},
                                            {"Labels", {{"k", "v"}}},
                                            {"DriverConfig", {{"Options", {{"type", "tmpfs"}}}}}}}},
                                         {{"Type", "volume"}, {"Target", "/anon"}},
                                         {{"Type", "tmpfs"},
                                          {"Target", "/t"},
                                          {"TmpfsOptions", {{"SizeBytes", 4096}, {"Mode", 0700}}}},
                                         {{"Type", "bind"},
                                          {"Source", "/srv"},
                                          {"Target", "/b"},
                                          {"ReadOnly", true},
                                          {"BindOptions", {{"Propagation", "slave"}}}}}}});
  REQUIRE(mounts.ok());
  REQUIRE(mounts->size() == 4);
  CHECK(!(*mounts)[0].copy_data);
  CHECK((*mounts)[0].volume_labels.at("k") == "v");
  CHECK((*mounts)[0].driver_options.at("type") == "tmpfs");
  CHECK((*mounts)[1].anonymous);
  CHECK((*mounts)[1].name.size() == 64);
  CHECK((*mounts)[2].tmpfs_options == std::vector<std::string>{"size=4096", "mode=700"});
  CHECK(!(*mounts)[3].rw);
  CHECK((*mounts)[3].propagation == "slave");
  CHECK(!(*mounts)[3].create_host_path);
}

TEST_CASE("Config.Volumes become anonymous volumes where nothing else is mounted", "[mounts]") {
  auto mounts = Parse({{"Volumes", {{"/data", {}}, {"/c", {}}, {"/shared", {}}, {"/", {}}}}},
                      {{"Binds", {"cache:/c"}}, {"VolumesFrom", {"data:ro"}}});
  REQUIRE(mounts.ok());
  REQUIRE(mounts->size() == 3);
  // VolumesFrom first, shared and read-only, never owned by the new container.
  CHECK((*mounts)[0].name == "shared");
  CHECK(!(*mounts)[0].rw);
  CHECK(!(*mounts)[0].anonymous);
  CHECK((*mounts)[1].name == "cache");
  CHECK((*mounts)[2].destination == "/data");
  CHECK((*mounts)[2].anonymous);
  CHECK((*mounts)[2].copy_data);
}

TEST_CASE("mount points survive the store", "[mounts]") {
  auto mounts =
      Parse(nlohmann::json::object(),
            {{"Binds", {"/srv/a:/a:ro,rshared"}},
             {"Mounts",
              {{{"Type", "tmpfs"}, {"Target", "/t"}, {"TmpfsOptions", {{"SizeBytes", 4096}}}}}}});
  REQUIRE(mounts.ok());
  for (const MountPoint& mp : *mounts) {
    const MountPoint back = MountPoint::FromStored(mp.ToStored());
    CHECK(back.ToStored() == mp.ToStored());
  }
}
