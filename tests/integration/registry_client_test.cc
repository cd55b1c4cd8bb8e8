// The registry client against Debian's docker-registry, with skopeo as the
// independent client that puts images in and reads pushed ones back.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <random>

#include "common/digest.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "contd/registry/registry_client.h"
#include "tests/integration/ocirun_test_util.h"
#include "tests/integration/registry_test_util.h"
#include "tests/temp_dir.h"

using namespace gantry::registry;
using gantry::Digest;
using gantry::testing::TempDir;
using registry_test::TestRegistry;

namespace {

nlohmann::json Fixtures() {
  auto doc = gantry::ReadJsonFile(GANTRY_FIXTURES_DIR "/fixtures.json");
  REQUIRE(doc.ok());
  return *doc;
}

std::unique_ptr<RegistryClient> MakeClient(RegistryClientOptions options = {}) {
  if (options.hosts.certs_dir == "/etc/docker/certs.d") options.hosts.certs_dir = "/nonexistent";
  options.http.io_timeout = std::chrono::seconds(20);
  auto client = RegistryClient::Create(std::move(options));
  REQUIRE(client.ok());
  return *std::move(client);
}

Reference Ref(const std::string& text) {
  auto ref = Reference::Parse(text);
  INFO(ref.status().ToString());
  REQUIRE(ref.ok());
  return *ref;
}

Descriptor Desc(const nlohmann::json& j) {
  auto digest = Digest::Parse(j.at("digest").get<std::string>());
  REQUIRE(digest.ok());
  return Descriptor{j.value("mediaType", ""), *digest, j.at("size").get<int64_t>()};
}

std::string Sha256OfFile(const std::string& path) {
  auto data = gantry::ReadFile(path);
  REQUIRE(data.ok());
  return Digest::FromBytes(*data).str();
}

// Forwards to a file sink, counting bytes and calling `on_write` after each.
class ObservedSink : public BlobSink {
 public:
  explicit ObservedSink(const std::string& path) : file_(*FileBlobSink::Open(path)) {}
  int64_t offset() const override { return file_.offset(); }
  absl::Status ReadExisting(const std::function<absl::Status(absl::string_view)>& fn) override {
    return file_.ReadExisting(fn);
  }
  absl::Status Write(absl::string_view data) override {
    GANTRY_RETURN_IF_ERROR(file_.Write(data));
    written += static_cast<int64_t>(data.size());
    if (on_write) on_write(file_.offset());
    return absl::OkStatus();
  }
  int64_t written = 0;
  std::function<void(int64_t)> on_write;

 private:
  FileBlobSink file_;
};

// Pulls manifest, config and layers of `ref` into `dir`; returns the manifest.
Manifest PullAll(RegistryClient& client, const Reference& ref, const std::string& dir) {
  auto manifest = client.FetchManifest(ref);
  INFO(manifest.status().ToString());
  REQUIRE(manifest.ok());
  auto doc = nlohmann::json::parse(manifest->bytes);
  std::vector<Descriptor> blobs = {Desc(doc["config"])};
  for (const auto& layer : doc["layers"]) blobs.push_back(Desc(layer));
  std::vector<std::unique_ptr<FileBlobSink>> sinks;
  std::vector<BlobFetch> fetches;
  for (const Descriptor& d : blobs) {
    sinks.push_back(std::make_unique<FileBlobSink>(*FileBlobSink::Open(dir + "/" + d.digest.hex())));
    fetches.push_back({d, sinks.back().get()});
  }
  std::mutex mu;
  std::map<std::string, std::pair<int64_t, int64_t>> progress;
  auto results = client.FetchBlobs(ref, fetches, [&](const Descriptor& d, int64_t done, int64_t total) {
    std::lock_guard lock(mu);
    progress[d.digest.str()] = {done, total};
  });
  for (size_t i = 0; i < blobs.size(); ++i) {
    INFO(blobs[i].digest.str() << ": " << results[i].status().ToString());
    REQUIRE(results[i].ok());
    CHECK(*results[i] == blobs[i].digest);
    CHECK(Sha256OfFile(dir + "/" + blobs[i].digest.hex()) == blobs[i].digest.str());
    CHECK(progress[blobs[i].digest.str()] == std::make_pair(blobs[i].size, blobs[i].size));
  }
  return *manifest;
}

}  // namespace

TEST_CASE("pull by tag and by digest from a plain-HTTP registry verifies every blob",
          "[registry]") {
  TempDir dir("registry-pull");
  TestRegistry registry(dir.path());
  registry_test::PushFixture(registry.domain(), "busybox:latest", {"--dest-tls-verify=false"});
  nlohmann::json fixtures = Fixtures();
  std::string manifest_digest = fixtures["oci"]["manifest"]["digest"];
  auto client = MakeClient();

  Reference by_tag = Ref(registry.domain() + "/busybox:latest");
  auto resolved = client->Resolve(by_tag);
  INFO(resolved.status().ToString());
  REQUIRE(resolved.ok());
  CHECK(resolved->digest.str() == manifest_digest);
  CHECK(resolved->media_type == kOciManifest);
  CHECK(resolved->size == fixtures["oci"]["manifest"]["size"].get<int64_t>());

  Reference by_digest = by_tag.WithDigest(resolved->digest);
  auto again = client->Resolve(by_digest);
  REQUIRE(again.ok());
  CHECK(again->digest == resolved->digest);

  Manifest manifest = PullAll(*client, by_digest, dir.path());
  CHECK(manifest.descriptor.digest.str() == manifest_digest);
  CHECK(ocirun_test::Exists(dir.path() + "/" +
                           std::string(fixtures["config"]["digest"]).substr(7)));

  auto missing = client->Resolve(Ref(registry.domain() + "/busybox:nope"));
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("MANIFEST_UNKNOWN"));
}
