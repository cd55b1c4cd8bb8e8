// Image manifests, indexes and configs parse as the OCI image spec's
// examples show them (and Docker's schema 2 twins); an index resolves to
// the host platform as containerd's platforms package would; chain IDs
// follow the spec's formula.
#include <catch2/catch.hpp>

#include <string>

#include "contd/images/manifest.h"

namespace {

using namespace gantry::contd::images;  // NOLINT: the test's subject

// image-manifest.md's example.
constexpr char kOciManifest[] = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7",
    "size": 7023
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0",
      "size": 32654
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b",
      "size": 16724
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:ec4b8955958665577945c89419d1af06b5f7636b4ac3da7f12184802ad867736",
      "size": 73109
    }
  ],
  "annotations": {
    "com.example.key1": "value1",
    "com.example.key2": "value2"
  }
})";

// image-index.md's example.
constexpr char kOciIndex[] = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 7143,
      "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
      "platform": {"architecture": "ppc64le", "os": "linux"}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "size": 7682,
      "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
      "platform": {"architecture": "amd64", "os": "linux"}
    }
  ],
  "annotations": {"com.example.key1": "value1"}
})";

// config.md's example, plus Docker's Healthcheck and StopSignal.
constexpr char kConfig[] = R"({
  "created": "2015-10-31T22:22:56.015925234Z",
  "author": "Alyssa P. Hacker <alyspdev@example.com>",
  "architecture": "amd64",
  "os": "linux",
  "config": {
    "User": "alice",
    "ExposedPorts": {"8080/tcp": {}},
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "FOO=oci_is_a", "BAR=well_written_spec"],
    "Entrypoint": ["/bin/my-app-binary"],
    "Cmd": ["--foreground", "--config", "/etc/my-app.d/default.cfg"],
    "Volumes": {"/var/log/my-app-logs": {}, "/var/job-result-data": {}},
    "WorkingDir": "/home/alice",
    "Labels": {"com.example.project.git.url": "https://example.com/project.git"},
    "StopSignal": "SIGQUIT",
    "Healthcheck": {"Test": ["CMD-SHELL", "curl -f http://localhost/"],
                    "Interval": 30000000000, "Retries": 3}
  },
  "rootfs": {
    "diff_ids": [
      "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1",
      "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
    ],
    "type": "layers"
  },
  "history": [
    {"created": "2015-10-31T22:22:54.690851953Z",
     "created_by": "/bin/sh -c #(nop) ADD file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282c65fb853ee171c5 in /"},
    {"created": "2015-10-31T22:22:55.613815829Z",
     "created_by": "/bin/sh -c #(nop) CMD [\"sh\"]", "empty_layer": true},
    {"created": "2015-10-31T22:22:56.329850019Z", "created_by": "/bin/sh -c apk add curl"}
  ]
})";

Descriptor Entry(const std::string& os, const std::string& arch, const std::string& variant,
                 char digit) {
  Descriptor d;
  d.media_type = media_types::kOciManifest;
  d.digest = "sha256:" + std::string(64, digit);
  d.platform = Platform{os, arch, variant, ""};
  return d;
}

std::string Selected(const Index& index, const std::string& want) {
  auto selected = SelectManifest(index, *ParsePlatform(want));
  if (!selected.ok()) return std::string(selected.status().message());
  return FormatPlatform(*selected->platform) + " " + selected->digest.substr(7, 1);
}

}  // namespace

TEST_CASE("manifest: the OCI spec's example manifest", "[images][manifest]") {
  auto manifest = ParseManifest(kOciManifest);
  INFO(manifest.status().ToString());
  REQUIRE(manifest.ok());
  CHECK(manifest->media_type == media_types::kOciManifest);
  CHECK(manifest->config.digest ==
        "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7");
  CHECK(manifest->config.size == 7023);
  REQUIRE(manifest->layers.size() == 3);
  CHECK(manifest->layers[2].size == 73109);
  CHECK(*LayerCompressionOf(manifest->layers[0].media_type) == LayerCompression::kGzip);
  CHECK(manifest->annotations.at("com.example.key2") == "value2");

  // An index is not a manifest, and the reverse.
  CHECK_THAT(std::string(ParseManifest(kOciIndex).status().message()),
             Catch::Contains("not an image manifest"));
  CHECK_THAT(std::string(ParseIndex(kOciManifest).status().message()),
             Catch::Contains("not an image index"));
}

TEST_CASE("manifest: Docker schema 2 manifests and lists", "[images][manifest]") {
  std::string docker = kOciManifest;
  auto replace = [&docker](const std::string& from, const std::string& to) {
    for (size_t at; (at = docker.find(from)) != std::string::npos;)
      docker.replace(at, from.size(), to);
  };
  replace(media_types::kOciManifest, media_types::kDockerManifest);
  replace(media_types::kOciConfig, media_types::kDockerConfig);
  replace(media_types::kOciLayerGzip, media_types::kDockerLayerGzip);
  auto manifest = ParseManifest(docker);
  REQUIRE(manifest.ok());
  CHECK(manifest->media_type == media_types::kDockerManifest);
  CHECK(*LayerCompressionOf(manifest->layers[1].media_type) == LayerCompression::kGzip);

  std::string list = kOciIndex;
  list.replace(list.find(media_types::kOciIndex), std::string(media_types::kOciIndex).size(),
               media_types::kDockerManifestList);
  auto index = ParseIndex(list);
  REQUIRE(index.ok());
  CHECK(IsIndexMediaType(index->media_type));

  CHECK_THAT(
      std::string(ParseManifest(R"({"schemaVersion": 1, "fsLayers": []})").status().message()),
      Catch::Contains("schema 1"));
}

TEST_CASE("manifest: errors name the field", "[images][manifest]") {
  auto bad_digest = ParseManifest(R"({"schemaVersion": 2, "config": {"mediaType": "x",
      "digest": "sha256:short", "size": 1}, "layers": []})");
  CHECK(absl::IsInvalidArgument(bad_digest.status()));
  CHECK_THAT(std::string(bad_digest.status().message()),
             Catch::StartsWith("manifest: config.digest"));

  auto bad_layer = ParseManifest(R"({"schemaVersion": 2, "config": {"mediaType": "x",
      "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7",
      "size": 1}, "layers": [{"mediaType": "y", "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"}]})");
  CHECK_THAT(std::string(bad_layer.status().message()),
             Catch::Contains("layers[0].size: required field is missing"));

  auto bad_env = ParseImageConfig(R"({"architecture": "amd64", "os": "linux",
      "config": {"Env": "PATH=/bin"}, "rootfs": {"type": "layers", "diff_ids": []}})");
  CHECK_THAT(std::string(bad_env.status().message()),
             Catch::Contains("config: config.Env: expected array of strings"));
  CHECK_THAT(std::string(ParseImageConfig("{").status().message()),
             Catch::Contains("invalid JSON"));
  CHECK_THAT(
      std::string(
          ParseImageConfig(R"({"architecture": "amd64", "os": "linux"})").status().message()),
      Catch::Contains("rootfs: required field is missing"));
}

TEST_CASE("manifest: the OCI spec's example image config", "[images][manifest]") {
  auto config = ParseImageConfig(kConfig);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  CHECK(config->platform == Platform{"linux", "amd64", "", ""});
  const ContainerConfig& c = config->config;
  CHECK(c.user == "alice");
  CHECK(c.exposed_ports == std::vector<std::string>{"8080/tcp"});
  CHECK(c.env.size() == 3);
  CHECK(c.entrypoint == std::vector<std::string>{"/bin/my-app-binary"});
  CHECK(c.cmd.size() == 3);
  CHECK(c.volumes == std::vector<std::string>{"/var/job-result-data", "/var/log/my-app-logs"});
  CHECK(c.working_dir == "/home/alice");
  CHECK(c.labels.at("com.example.project.git.url") == "https://example.com/project.git");
  CHECK(c.stop_signal == "SIGQUIT");
  REQUIRE(c.healthcheck.has_value());
  CHECK(c.healthcheck->test.front() == "CMD-SHELL");
  CHECK(c.healthcheck->interval == 30000000000);
  CHECK(c.healthcheck->retries == 3);
  CHECK(config->diff_ids.size() == 2);
  REQUIRE(config->history.size() == 3);
  CHECK(config->history[1].empty_layer);
  CHECK_FALSE(config->history[2].empty_layer);
}

TEST_CASE("manifest: chain IDs follow the OCI formula", "[images][manifest]") {
  const std::vector<std::string> diff_ids = {
      "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1",
      "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"};
  // The first layer's chain ID is its diff ID; the second is
  // sha256("<first> <second diff id>") (computed with sha256sum).
  CHECK(
      ChainIDs(diff_ids) ==
      std::vector<std::string>{
          diff_ids[0], "sha256:c3191d32a37d7159b2e30830937d2e30268ad6c375a773a8994911a3aba9b93f"});
  CHECK(ChainID(diff_ids) ==
        "sha256:c3191d32a37d7159b2e30830937d2e30268ad6c375a773a8994911a3aba9b93f");
  CHECK(ChainID({}).empty());
}

TEST_CASE("manifest: an index resolves to the platform, variants as containerd",
          "[images][platforms]") {
  auto spec_index = ParseIndex(kOciIndex);
  REQUIRE(spec_index.ok());
  CHECK(Selected(*spec_index, "linux/amd64") == "linux/amd64 5");
  CHECK_THAT(Selected(*spec_index, "linux/arm64"),
             Catch::Contains("no manifest for platform linux/arm64") &&
                 Catch::Contains("linux/ppc64le, linux/amd64"));

  Index index;
  index.manifests = {Entry("linux", "386", "", '1'),     Entry("linux", "amd64", "v3", '2'),
                     Entry("linux", "x86_64", "", '3'),  Entry("linux", "arm", "v6", '4'),
                     Entry("linux", "arm", "", '5'),     Entry("linux", "aarch64", "v8", '6'),
                     Entry("windows", "amd64", "", '7'), Entry("unknown", "unknown", "", '8')};
  // amd64 means v1: a v3 build does not run there, 386 is the fallback.
  CHECK(Selected(index, "linux/amd64") == "linux/x86_64 3");
  CHECK(Selected(index, "linux/amd64/v3") == "linux/amd64/v3 2");
  CHECK(Selected(index, "linux/386") == "linux/386 1");
  // arm64's default variant is v8, written with or without it.
  CHECK(Selected(index, "linux/arm64") == "linux/aarch64/v8 6");
  CHECK(Selected(index, "linux/arm64/v8") == "linux/aarch64/v8 6");
  // arm without a variant is v7, which also runs v6.
  CHECK(Selected(index, "linux/arm") == "linux/arm 5");
  CHECK(Selected(index, "linux/arm/v6") == "linux/arm/v6 4");
  CHECK(Selected(index, "linux/arm/v5").find("no manifest") == 0);
  CHECK(Selected(index, "windows/amd64") == "windows/amd64 7");

  index.manifests.erase(index.manifests.begin() + 2);  // no plain amd64 left
  CHECK(Selected(index, "linux/amd64") == "linux/386 1");

  CHECK(NormalizePlatform({"Linux", "armhf", "", ""}) == Platform{"linux", "arm", "v7", ""});
  CHECK(NormalizePlatform({"linux", "x86_64", "v1", ""}) == Platform{"linux", "amd64", "", ""});
  CHECK(HostPlatform().os == "linux");
  CHECK(absl::IsInvalidArgument(ParsePlatform("linux").status()));
}
