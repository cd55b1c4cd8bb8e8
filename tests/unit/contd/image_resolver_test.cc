// An image's target resolves through the content store: index -> the
// platform's manifest -> config -> chain IDs, with errors naming the blob.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "common/digest.h"
#include "contd/content/content_store.h"
#include "contd/images/image_resolver.h"
#include "contd/metadata/database.h"
#include "tests/temp_dir.h"

namespace {

using gantry::Digest;
using gantry::contd::content::ContentStore;
using gantry::contd::metadata::Database;
using namespace gantry::contd::images;  // NOLINT: the test's subject

constexpr char kDiffA[] = "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1";
constexpr char kDiffB[] = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

struct Fixture {
  gantry::testing::TempDir dir{"image-resolver-test"};
  std::unique_ptr<Database> db = *Database::Open(dir.path());
  std::unique_ptr<ContentStore> store = *ContentStore::Open(dir.path(), *db);

  // Stores `json` and returns a descriptor of it.
  gantry::contd::v1::Descriptor Put(const std::string& media_type, const std::string& json) {
    const std::string digest = Digest::FromBytes(json).str();
    auto writer = store->Writer("default", digest, 0, "");
    REQUIRE(writer.ok());
    REQUIRE((*writer)->Write(json).ok());
    absl::Status committed = (*writer)->Commit(0, digest, {});
    REQUIRE((committed.ok() || absl::IsAlreadyExists(committed)));  // configs repeat
    gantry::contd::v1::Descriptor d;
    d.set_media_type(media_type);
    d.set_digest(digest);
    d.set_size(static_cast<int64_t>(json.size()));
    return d;
  }

  std::string Entry(const gantry::contd::v1::Descriptor& d, const std::string& arch) {
    return R"({"mediaType": ")" + d.media_type() + R"(", "digest": ")" + d.digest() +
           R"(", "size": )" + std::to_string(d.size()) +
           R"(, "platform": {"os": "linux", "architecture": ")" + arch + R"("}})";
  }

  gantry::contd::v1::Descriptor PutManifest(int layers) {
    const auto config =
        Put(media_types::kDockerConfig, std::string(R"({"architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": [")") +
                                            kDiffA + R"(", ")" + kDiffB + R"("]}})");
    std::string layer_list;
    for (int i = 0; i < layers; ++i) {
      layer_list += std::string(i ? "," : "") + R"({"mediaType": ")" +
                    media_types::kDockerLayerGzip + R"(", "digest": ")" + kDiffA +
                    R"(", "size": 100})";
    }
    return Put(media_types::kDockerManifest,
               R"({"schemaVersion": 2, "mediaType": ")" +
                   std::string(media_types::kDockerManifest) + R"(", "config": {"mediaType": ")" +
                   media_types::kDockerConfig + R"(", "digest": ")" + config.digest() +
                   R"(", "size": )" + std::to_string(config.size()) + R"(}, "layers": [)" +
                   layer_list + "]}");
  }
};

}  // namespace

TEST_CASE("resolver: an index resolves to the platform's manifest, config and chain IDs",
          "[images][resolver]") {
  Fixture f;
  const auto manifest = f.PutManifest(2);
  const auto other = f.PutManifest(1);  // arm64's, inconsistent but never read
  const auto index = f.Put(media_types::kOciIndex, R"({"schemaVersion": 2, "manifests": [)" +
                                                       f.Entry(other, "arm64") + "," +
                                                       f.Entry(manifest, "amd64") + "]}");

  auto resolved = ResolveImage(*f.store, "default", index, Platform{"linux", "amd64", "", ""});
  INFO(resolved.status().ToString());
  REQUIRE(resolved.ok());
  CHECK(resolved->manifest_descriptor.digest == manifest.digest());
  CHECK(resolved->manifest.layers.size() == 2);
  CHECK(resolved->config.config.cmd == std::vector<std::string>{"sh"});
  CHECK(resolved->chain_ids == ChainIDs({kDiffA, kDiffB}));

  // A manifest target resolves to itself.
  auto direct = ResolveImage(*f.store, "default", manifest, Platform{"linux", "amd64", "", ""});
  REQUIRE(direct.ok());
  CHECK(direct->manifest_descriptor.digest == manifest.digest());

  auto missing_platform =
      ResolveImage(*f.store, "default", index, Platform{"linux", "s390x", "", ""});
  CHECK(absl::IsNotFound(missing_platform.status()));
  CHECK_THAT(std::string(missing_platform.status().message()),
             Catch::Contains(index.digest()) && Catch::Contains("linux/s390x"));

  auto layers_mismatch =
      ResolveImage(*f.store, "default", other, Platform{"linux", "arm64", "", ""});
  CHECK(absl::IsFailedPrecondition(layers_mismatch.status()));
  CHECK_THAT(std::string(layers_mismatch.status().message()), Catch::Contains("1 layers"));

  auto other_namespace =
      ResolveImage(*f.store, "elsewhere", index, Platform{"linux", "amd64", "", ""});
  CHECK(absl::IsNotFound(other_namespace.status()));

  gantry::contd::v1::Descriptor wrong_size = manifest;
  wrong_size.set_size(manifest.size() + 1);
  CHECK(absl::IsFailedPrecondition(
      ResolveImage(*f.store, "default", wrong_size, Platform{"linux", "amd64", "", ""}).status()));
}
