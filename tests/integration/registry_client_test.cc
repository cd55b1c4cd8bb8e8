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
    sinks.push_back(
        std::make_unique<FileBlobSink>(*FileBlobSink::Open(dir + "/" + d.digest.hex())));
    fetches.push_back({d, sinks.back().get()});
  }
  std::mutex mu;
  std::map<std::string, std::pair<int64_t, int64_t>> progress;
  auto results =
      client.FetchBlobs(ref, fetches, [&](const Descriptor& d, int64_t done, int64_t total) {
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
  CHECK(
      ocirun_test::Exists(dir.path() + "/" + std::string(fixtures["config"]["digest"]).substr(7)));

  auto missing = client->Resolve(Ref(registry.domain() + "/busybox:nope"));
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("MANIFEST_UNKNOWN"));
}

TEST_CASE(
    "a pushed copy (chunked, monolithic and mounted blobs) reads back in skopeo with the "
    "same digest",
    "[registry]") {
  TempDir dir("registry-push");
  TestRegistry registry(dir.path());
  registry_test::PushFixture(registry.domain(), "busybox:latest", {"--dest-tls-verify=false"});
  auto client = MakeClient();
  Reference source = Ref(registry.domain() + "/busybox:latest");
  Manifest manifest = PullAll(*client, source, dir.path());

  auto doc = nlohmann::json::parse(manifest.bytes);
  Reference copy = Ref(registry.domain() + "/gantry/copy:v1");
  Descriptor config = Desc(doc["config"]);
  Descriptor layer1 = Desc(doc["layers"][0]);
  Descriptor layer2 = Desc(doc["layers"][1]);
  auto push = [&](const Descriptor& d, const PushBlobOptions& options) {
    auto src = FileBlobSource::Open(dir.path() + "/" + d.digest.hex());
    REQUIRE(src.ok());
    absl::Status st = client->PushBlob(copy, d, *src, options);
    INFO(st.ToString());
    REQUIRE(st.ok());
  };
  CHECK_FALSE(*client->BlobExists(copy, config.digest));
  PushBlobOptions chunked, mount;
  chunked.chunk_size = 64 * 1024;
  mount.mount_from = source.path();
  push(config, {});       // monolithic PUT
  push(layer1, chunked);  // PATCH chunks, then PUT
  push(layer2, mount);    // cross-repository mount
  CHECK(*client->BlobExists(copy, config.digest));
  CHECK(*client->BlobExists(copy, layer1.digest));
  CHECK(*client->BlobExists(copy, layer2.digest));

  auto pushed = client->PushManifest(copy, manifest.descriptor.media_type, manifest.bytes);
  INFO(pushed.status().ToString());
  REQUIRE(pushed.ok());
  CHECK(*pushed == manifest.descriptor.digest);
  REQUIRE(client->Tag(copy.WithDigest(*pushed), "v2").ok());

  for (const char* tag : {"v1", "v2"}) {
    auto raw = ocirun_test::RunProcess({"/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false",
                                        "docker://" + registry.domain() + "/gantry/copy:" + tag});
    INFO(raw.err);
    REQUIRE(raw.exit_code == 0);
    CHECK(Digest::FromBytes(raw.out) == manifest.descriptor.digest);
  }
  // A mount from a repository that lacks the blob is refused, not an error.
  auto bogus = Digest::FromBytes("not in the registry");
  auto mounted = client->MountBlob(Ref(registry.domain() + "/gantry/other"), bogus, copy.path());
  REQUIRE(mounted.ok());
  CHECK_FALSE(*mounted);
  auto mounted_real =
      client->MountBlob(Ref(registry.domain() + "/gantry/other"), layer1.digest, copy.path());
  REQUIRE(mounted_real.ok());
  CHECK(*mounted_real);
}

TEST_CASE("a TLS registry is trusted through certs.d/HOST:PORT/ca.crt and refused without it",
          "[registry][tls]") {
  TempDir dir("registry-tls");
  registry_test::MakeTestCertificates(dir.path());
  TestRegistry registry(dir.path(), {.tls_cert = dir.path() + "/server.crt",
                                     .tls_key = dir.path() + "/server.key",
                                     .htpasswd = "",
                                     .client_ca = ""});
  registry_test::PushFixture(registry.domain(), "busybox:latest", {"--dest-tls-verify=false"});
  Reference ref = Ref(registry.domain() + "/busybox:latest");
  std::string certs_d = dir.path() + "/certs.d";
  REQUIRE(gantry::MakeDirs(certs_d + "/" + registry.domain()).ok());

  // 127.0.0.0/8 taken off the insecure list: verification applies.
  RegistryClientOptions options;
  options.hosts = {.certs_dir = certs_d, .insecure_registries = {}};
  auto untrusted = MakeClient(options)->Resolve(ref);
  REQUIRE_FALSE(untrusted.ok());
  CHECK(untrusted.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(untrusted.status().message()),
             Catch::Contains("certificate verify failed"));

  auto ca = gantry::ReadFile(dir.path() + "/ca.crt");
  REQUIRE(ca.ok());
  REQUIRE(gantry::WriteFileAtomic(certs_d + "/" + registry.domain() + "/ca.crt", *ca).ok());
  auto client = MakeClient(options);
  auto trusted = client->Resolve(ref);
  INFO(trusted.status().ToString());
  REQUIRE(trusted.ok());
  CHECK(trusted->digest.str() == Fixtures()["oci"]["manifest"]["digest"]);
  PullAll(*client, ref, dir.path());
}

TEST_CASE("a registry requiring client certificates accepts certs.d's client.cert and client.key",
          "[registry][tls]") {
  TempDir dir("registry-mtls");
  registry_test::MakeTestCertificates(dir.path());
  TestRegistry registry(dir.path(), {.tls_cert = dir.path() + "/server.crt",
                                     .tls_key = dir.path() + "/server.key",
                                     .htpasswd = "",
                                     .client_ca = dir.path() + "/ca.crt"});
  std::string host_dir = dir.path() + "/certs.d/" + registry.domain();
  REQUIRE(gantry::MakeDirs(host_dir).ok());
  auto copy = [&](const std::string& name) {
    auto data = gantry::ReadFile(dir.path() + "/" + name);
    REQUIRE(data.ok());
    REQUIRE(gantry::WriteFileAtomic(host_dir + "/" + name, *data).ok());
  };
  copy("ca.crt");
  RegistryClientOptions options;
  options.hosts = {.certs_dir = dir.path() + "/certs.d", .insecure_registries = {}};
  Reference ref = Ref(registry.domain() + "/busybox:latest");

  auto without = MakeClient(options)->Resolve(ref);
  REQUIRE_FALSE(without.ok());
  CHECK(without.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(without.status().message()), Catch::Contains("certificate"));

  copy("client.cert");
  copy("client.key");
  // skopeo reads the same certs.d layout.
  registry_test::PushFixture(registry.domain(), "busybox:latest", {"--dest-cert-dir", host_dir});
  auto with = MakeClient(options)->Resolve(ref);
  INFO(with.status().ToString());
  REQUIRE(with.ok());
  CHECK(with->digest.str() == Fixtures()["oci"]["manifest"]["digest"]);
}

TEST_CASE("htpasswd basic auth works with config.json credentials and fails clearly without",
          "[registry][auth]") {
  TempDir dir("registry-auth");
  registry_test::WriteHtpasswd(dir.path() + "/htpasswd", "gantry", "s3cret");
  registry_test::RegistryConfig config;
  config.htpasswd = dir.path() + "/htpasswd";
  TestRegistry registry(dir.path(), config);
  registry_test::PushFixture(registry.domain(), "busybox:latest",
                             {"--dest-tls-verify=false", "--dest-creds", "gantry:s3cret"});
  Reference ref = Ref(registry.domain() + "/busybox:latest");
  auto client_with = [&](const std::string& user_pass) {
    std::string config = dir.path() + "/config-" + user_pass + ".json";
    // base64 by hand is error-prone: let the shell's base64 make "auth".
    auto b64 = ocirun_test::RunProcess({"/usr/bin/base64", "-w0"}, user_pass);
    REQUIRE(b64.exit_code == 0);
    std::string json = "{\"auths\":{\"" + registry.domain() + "\":{\"auth\":\"" + b64.out + "\"}}}";
    REQUIRE(gantry::WriteFileAtomic(config, json).ok());
    RegistryClientOptions options;
    options.docker_config = config;
    return MakeClient(options);
  };

  auto client = client_with("gantry:s3cret");
  auto resolved = client->Resolve(ref);
  INFO(resolved.status().ToString());
  REQUIRE(resolved.ok());
  PullAll(*client, ref, dir.path());
  Descriptor extra{"application/octet-stream", Digest::FromBytes("pushed with basic auth"), 22};
  StringBlobSource source("pushed with basic auth");
  CHECK(client->PushBlob(Ref(registry.domain() + "/pushed"), extra, source).ok());

  auto wrong = client_with("gantry:wrong")->Resolve(ref);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK_THAT(std::string(wrong.status().message()), Catch::Contains("authentication failed"));

  auto anonymous = MakeClient()->Resolve(ref);
  REQUIRE_FALSE(anonymous.ok());
  CHECK(anonymous.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK_THAT(std::string(anonymous.status().message()),
             Catch::Contains("no credentials are configured"));
}

TEST_CASE("a blob download cut by killing the registry resumes from the sink's offset",
          "[registry][resume]") {
  TempDir dir("registry-resume");
  TestRegistry registry(dir.path());
  auto client = MakeClient();
  Reference repo = Ref(registry.domain() + "/big");

  // 24 MiB of random bytes: more than the socket buffers can hold, so the
  // kill lands mid-body.
  std::string data(24 << 20, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  Descriptor blob{"application/octet-stream", Digest::FromBytes(data),
                  static_cast<int64_t>(data.size())};
  StringBlobSource source(data);
  REQUIRE(client->PushBlob(repo, blob, source).ok());

  std::string path = dir.path() + "/partial";
  {
    ObservedSink sink(path);
    sink.on_write = [&](int64_t offset) {
      if (offset >= (1 << 20)) registry.Kill();
    };
    auto cut = client->FetchBlob(repo, blob, sink);
    REQUIRE_FALSE(cut.ok());
    INFO(cut.status().ToString());
    CHECK(cut.status().code() == absl::StatusCode::kUnavailable);
  }
  registry.Restart();
  ObservedSink sink(path);
  int64_t held = sink.offset();
  CHECK(held >= (1 << 20));
  CHECK(held < blob.size);
  auto resumed = client->FetchBlob(repo, blob, sink);
  INFO(resumed.status().ToString());
  REQUIRE(resumed.ok());
  CHECK(*resumed == blob.digest);
  CHECK(sink.written == blob.size - held);  // only the rest came over the wire
  CHECK(Sha256OfFile(path) == blob.digest.str());
}

TEST_CASE("a blob corrupted in the registry's storage fails the fetch with a digest error",
          "[registry]") {
  TempDir dir("registry-corrupt");
  TestRegistry registry(dir.path());
  registry_test::PushFixture(registry.domain(), "busybox:latest", {"--dest-tls-verify=false"});
  Descriptor layer = Desc(Fixtures()["oci"]["layers"][0]);
  std::string stored = registry.BlobPath(layer.digest.str());
  auto bytes = gantry::ReadFile(stored);
  REQUIRE(bytes.ok());
  (*bytes)[bytes->size() / 2] ^= 0x5a;  // same size, other content
  REQUIRE(gantry::WriteFileAtomic(stored, *bytes).ok());

  auto client = MakeClient();
  auto sink = FileBlobSink::Open(dir.path() + "/layer");
  REQUIRE(sink.ok());
  auto fetched = client->FetchBlob(Ref(registry.domain() + "/busybox"), layer, *sink);
  REQUIRE_FALSE(fetched.ok());
  CHECK(fetched.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(fetched.status().message()),
             Catch::Contains("digest mismatch") && Catch::Contains(layer.digest.str()));
}
