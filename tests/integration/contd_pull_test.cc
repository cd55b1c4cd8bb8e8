// Pull and push through contd's Images service against Debian's
// docker-registry, with skopeo as the independent client, and the whole
// stack: the pulled image's snapshot as the rootfs of a task that contd-shim
// runs with ocirun.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "absl/strings/match.h"
#include "common/digest.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/json_log.h"
#include "common/json_util.h"
#include "contd/content/content_store.h"
#include "contd/images/image_store.h"
#include "contd/images/puller.h"
#include "contd/images/rootfs.h"
#include "contd/metadata/database.h"
#include "contd/registry/registry_client.h"
#include "contd/snapshots/native_snapshotter.h"
#include "contd/v1/containers.grpc.pb.h"
#include "contd/v1/content.grpc.pb.h"
#include "contd/v1/images.grpc.pb.h"
#include "contd/v1/snapshots.grpc.pb.h"
#include "contd/v1/tasks.grpc.pb.h"
#include "tests/integration/contd_pull_env.h"
#include "tests/integration/contd_test_util.h"
#include "tests/integration/ocirun_test_util.h"
#include "tests/integration/registry_test_util.h"

namespace {

namespace v1 = gantry::contd::v1;
using pull_test::Context;
using pull_test::DiskUsage;
using pull_test::Fixtures;
using pull_test::PullEnv;
using pull_test::PullOutcome;
using pull_test::Ref;
using pull_test::RegistryClient;
using pull_test::SkopeoDigest;
using registry_test::TestRegistry;

}  // namespace

TEST_CASE("an image pulled by tag and by digest runs as a task on its unpacked snapshot",
          "[contd][pull]") {
  PullEnv env;
  const nlohmann::json fixtures = Fixtures();
  const std::string domain = env.registry_.domain();
  registry_test::PushFixture(domain, "busybox:latest", {"--dest-tls-verify=false"});
  const std::string manifest = fixtures["oci"]["manifest"]["digest"].get<std::string>();

  PullOutcome by_tag = env.Pull(domain + "/busybox");
  INFO(by_tag.status.error_message());
  REQUIRE(by_tag.status.ok());
  CHECK(by_tag.image.name() == domain + "/busybox:latest");
  CHECK(by_tag.image.target().digest() == manifest);
  std::map<std::string, std::vector<std::string>> statuses;  // by layer digest
  for (const auto& event : by_tag.events) statuses[event.digest()].push_back(event.status());
  for (const auto& layer : fixtures["oci"]["layers"]) {
    const std::vector<std::string>& seen = statuses[layer["digest"].get<std::string>()];
    REQUIRE(seen.size() >= 4);
    CHECK(seen.front() == "downloading");
    CHECK(std::vector<std::string>(seen.end() - 3, seen.end()) ==
          std::vector<std::string>{"verifying", "extracting", "done"});
    CHECK(env.ContentInfo(layer["digest"].get<std::string>()).ok());
  }
  CHECK(env.ContentInfo(fixtures["config"]["digest"].get<std::string>()).ok());
  CHECK(env.ContentInfo(manifest).ok());
  REQUIRE(env.GetImage(domain + "/busybox:latest").ok());
  const std::string chain_id = by_tag.events.back().chain_id();
  REQUIRE(!chain_id.empty());

  // By digest: everything is there already, and the image gets its own name.
  PullOutcome by_digest = env.Pull(domain + "/busybox@" + manifest);
  INFO(by_digest.status.error_message());
  REQUIRE(by_digest.status.ok());
  CHECK(by_digest.image.name() == domain + "/busybox@" + manifest);
  CHECK(by_digest.events.back().chain_id() == chain_id);
  for (const auto& event : by_digest.events) {
    if (event.digest() == fixtures["oci"]["layers"][0]["digest"].get<std::string>()) {
      CHECK(event.status() == "exists");
      break;
    }
  }

  // The whole stack: a container rootfs on top of the image's layers.
  const pull_test::TaskRun run =
      env.RunOnImage(by_tag.image.name(), chain_id,
                     "cat /etc/os-release 2>/dev/null || echo hi; cat /etc/motd; ls /opt/opaque; "
                     "test -e /etc/removed-by-layer2 || echo whiteout-applied");
  CHECK(run.exit_status == 0);
  CHECK(absl::StrContains(run.output, "hello from layer 2"));
  CHECK(absl::StrContains(run.output, "new.txt"));
  CHECK_FALSE(absl::StrContains(run.output, "old.txt"));  // opaque directory
  CHECK(absl::StrContains(run.output, "whiteout-applied"));

  // Deleting both images (synchronously: after garbage collection) removes
  // their blobs and snapshots and gives the disk back.
  const int64_t before = DiskUsage(env.contd_root());
  google::protobuf::Empty empty;
  for (const std::string& name : {domain + "/busybox:latest", domain + "/busybox@" + manifest}) {
    v1::DeleteImageRequest request;
    request.set_name(name);
    request.set_sync(true);
    auto context = Context();
    CHECK(env.images->Delete(context.get(), request, &empty).ok());
  }
  CHECK(env.ContentInfo(manifest).error_code() == grpc::StatusCode::NOT_FOUND);
  for (const auto& layer : fixtures["oci"]["layers"]) {
    CHECK(env.ContentInfo(layer["digest"].get<std::string>()).error_code() ==
          grpc::StatusCode::NOT_FOUND);
  }
  CHECK(env.SnapshotKeys("overlayfs").empty());
  const int64_t after = DiskUsage(env.contd_root());
  WARN("contd root: " << before << " bytes before removal, " << after << " after");
  CHECK(before - after > fixtures["oci"]["layers"][0]["size"].get<int64_t>());
  CHECK(env.GetImage(domain + "/busybox:latest").error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("a pull from a registry with a corrupted layer fails with a digest error",
          "[contd][pull]") {
  PullEnv env;
  const nlohmann::json fixtures = Fixtures();
  const std::string domain = env.registry_.domain();
  registry_test::PushFixture(domain, "busybox:latest", {"--dest-tls-verify=false"});
  const std::string layer = fixtures["oci"]["layers"][1]["digest"].get<std::string>();
  const std::string stored = env.registry_.BlobPath(layer);
  auto bytes = gantry::ReadFile(stored);
  REQUIRE(bytes.ok());
  (*bytes)[bytes->size() / 2] ^= 0x5a;
  REQUIRE(gantry::WriteFileAtomic(stored, *bytes).ok());

  PullOutcome pulled = env.Pull(domain + "/busybox:latest");
  REQUIRE_FALSE(pulled.status.ok());
  CHECK(pulled.status.error_code() == grpc::StatusCode::DATA_LOSS);
  CHECK_THAT(pulled.status.error_message(), Catch::Contains("digest") && Catch::Contains(layer));
  CHECK(env.GetImage(domain + "/busybox:latest").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(env.ContentInfo(layer).error_code() == grpc::StatusCode::NOT_FOUND);
  v1::ContentStatusRequest status_request;
  status_request.set_ref("pull-" + layer);
  v1::ContentStatusResponse status_response;
  auto context = Context();
  CHECK(env.content->Status(context.get(), status_request, &status_response).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("a multi-platform index pulls linux/amd64, and a pulled image pushes unchanged",
          "[contd][pull][push]") {
  PullEnv env;
  const nlohmann::json fixtures = Fixtures();
  const std::string domain = env.registry_.domain();
  registry_test::PushFixture(domain, "multi:amd64", {"--dest-tls-verify=false"});
  auto client = RegistryClient();
  auto amd64 = client->FetchManifest(Ref(domain + "/multi:amd64"));
  REQUIRE(amd64.ok());
  // An "arm64" manifest: the same blobs, another digest.
  nlohmann::json arm64 = nlohmann::json::parse(amd64->bytes);
  arm64["annotations"] = {{"test.platform", "linux/arm64"}};
  const std::string arm64_bytes = arm64.dump();
  auto arm64_digest =
      client->PushManifest(Ref(domain + "/multi:arm64"), amd64->descriptor.media_type, arm64_bytes);
  REQUIRE(arm64_digest.ok());
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", gantry::registry::kOciIndex},
                          {"manifests",
                           {{{"mediaType", amd64->descriptor.media_type},
                             {"digest", arm64_digest->str()},
                             {"size", arm64_bytes.size()},
                             {"platform", {{"os", "linux"}, {"architecture", "arm64"}}}},
                            {{"mediaType", amd64->descriptor.media_type},
                             {"digest", amd64->descriptor.digest.str()},
                             {"size", amd64->descriptor.size},
                             {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}}}}};
  auto index_digest = client->PushManifest(Ref(domain + "/multi:latest"),
                                           gantry::registry::kOciIndex, index.dump());
  REQUIRE(index_digest.ok());

  PullOutcome pulled = env.Pull(domain + "/multi:latest");
  INFO(pulled.status.error_message());
  REQUIRE(pulled.status.ok());
  CHECK(pulled.image.target().digest() == index_digest->str());
  CHECK(pulled.image.target().media_type() == gantry::registry::kOciIndex);
  CHECK(env.ContentInfo(amd64->descriptor.digest.str()).ok());
  CHECK(env.ContentInfo(arm64_digest->str()).error_code() == grpc::StatusCode::NOT_FOUND);

  // Push the single-platform image to another repository of the registry.
  PullOutcome busybox = env.Pull(domain + "/multi:amd64");
  REQUIRE(busybox.status.ok());
  auto [pushed, pushed_digest] = env.Push(domain + "/multi:amd64", domain + "/copy:v1");
  INFO(pushed.error_message());
  REQUIRE(pushed.ok());
  CHECK(pushed_digest == amd64->descriptor.digest.str());
  CHECK(SkopeoDigest(domain + "/copy:v1") == amd64->descriptor.digest.str());

  // The index pushes once the content store has all its manifests.
  auto [partial, unused] = env.Push(domain + "/multi:latest", domain + "/index-copy:v1");
  CHECK(partial.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  PullOutcome arm = env.Pull(domain + "/multi:latest", {}, false, "linux/arm64");
  INFO(arm.status.error_message());
  REQUIRE(arm.status.ok());
  CHECK(env.ContentInfo(arm64_digest->str()).ok());
  auto [index_pushed, index_pushed_digest] =
      env.Push(domain + "/multi:latest", domain + "/index-copy:v1");
  INFO(index_pushed.error_message());
  REQUIRE(index_pushed.ok());
  CHECK(index_pushed_digest == index_digest->str());
  CHECK(SkopeoDigest(domain + "/index-copy:v1") == index_digest->str());
}

TEST_CASE("a pull cut by killing the registry resumes from the ingest once it is back",
          "[contd][pull][resume]") {
  PullEnv env;
  const std::string domain = env.registry_.domain();
  const auto repo = Ref(domain + "/big");
  // 64 MiB of random bytes as the one "layer" (pulled without unpacking):
  // more than the progress stream lets through before the test reads it.
  std::string data(64 << 20, '\0');
  std::mt19937_64 rng(7);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  const gantry::Digest layer = gantry::Digest::FromBytes(data);
  pull_test::PushImage(repo.WithTag("v1"), {pull_test::NewLayer(data)}, {layer.str()});

  PullOutcome cut = env.Pull(
      domain + "/big:v1",
      [&](const v1::PullImageProgress& event) {
        if (event.digest() == layer.str() && event.done() > 0) env.registry_.Kill();
      },
      false);
  REQUIRE_FALSE(cut.status.ok());
  INFO(cut.status.error_message());
  CHECK(env.GetImage(domain + "/big:v1").error_code() == grpc::StatusCode::NOT_FOUND);
  v1::ContentStatusRequest status_request;
  status_request.set_ref("pull-" + layer.str());
  v1::ContentStatusResponse ingest;
  {
    auto context = Context();
    grpc::Status status = env.content->Status(context.get(), status_request, &ingest);
    INFO(status.error_message());
    REQUIRE(status.ok());
  }
  const int64_t held = ingest.status().offset();
  WARN("ingest offset after the cut: " << held << " of " << data.size());
  CHECK(held > 0);
  CHECK(held < static_cast<int64_t>(data.size()));

  env.registry_.Restart();
  int64_t first_done = -1;
  PullOutcome resumed = env.Pull(
      domain + "/big:v1",
      [&](const v1::PullImageProgress& event) {
        if (event.digest() == layer.str() && event.status() == "downloading" && first_done < 0) {
          first_done = event.done();
        }
      },
      false);
  INFO(resumed.status.error_message());
  REQUIRE(resumed.status.ok());
  CHECK(first_done >= held);  // counted from the resumed prefix on
  CHECK(env.ContentInfo(layer.str()).ok());
  CHECK(env.GetImage(domain + "/big:v1").ok());
}

TEST_CASE("ImagePuller and PrepareRootfs without gRPC: a native-snapshotter rootfs of the image",
          "[contd][pull][rootfs]") {
  ocirun_test::OcirunEnv env;
  TestRegistry registry(env.MakeDir("registry"));
  registry_test::PushFixture(registry.domain(), "busybox:v2", {"--dest-tls-verify=false"});
  const std::string root = env.MakeDir("root");
  auto db = gantry::contd::metadata::Database::Open(root);
  REQUIRE(db.ok());
  auto content = gantry::contd::content::ContentStore::Open(root, **db);
  REQUIRE(content.ok());
  gantry::contd::images::ImageStore images(**db);
  auto native = gantry::contd::snapshots::NativeSnapshotter::Open(**db, root + "/native");
  REQUIRE(native.ok());
  auto client = RegistryClient();
  gantry::contd::images::ImagePuller puller(*client, **content, images, {{"native", native->get()}},
                                            "native");

  std::vector<std::string> statuses;
  gantry::contd::images::PullOptions options;
  options.progress = [&](const gantry::contd::images::PullProgress& p) {
    if (p.status != "downloading") statuses.push_back(p.status);
  };
  // An unknown snapshotter fails before anything is fetched.
  options.snapshotter = "zfs";
  auto refused = puller.Pull("ns", registry.domain() + "/busybox:v2", options);
  CHECK(refused.status().code() == absl::StatusCode::kNotFound);
  CHECK(statuses.empty());
  options.snapshotter = "";
  // Cancelled once the blobs are in: they stay, the record does not appear.
  options.cancelled = [] { return true; };
  auto cancelled = puller.Pull("ns", registry.domain() + "/busybox:v2", options);
  CHECK(cancelled.status().code() == absl::StatusCode::kCancelled);
  CHECK(images.Get("ns", registry.domain() + "/busybox:v2").status().code() ==
        absl::StatusCode::kNotFound);
  options.cancelled = nullptr;
  statuses.clear();
  auto pulled = puller.Pull("ns", registry.domain() + "/busybox:v2", options);
  INFO(pulled.status().ToString());
  REQUIRE(pulled.ok());
  CHECK(pulled->created);
  CHECK(pulled->image.name() == registry.domain() + "/busybox:v2");
  // Config and layers are in the store already; the layers are unpacked.
  CHECK(statuses == std::vector<std::string>{"exists", "exists", "exists", "extracting", "done",
                                             "extracting", "done"});

  auto mounts = gantry::contd::images::PrepareRootfs(**content, images, **native, "ns",
                                                     pulled->image.name(), "container-1");
  INFO(mounts.status().ToString());
  REQUIRE(mounts.ok());
  REQUIRE(mounts->size() == 1);
  CHECK((*mounts)[0].type == "bind");
  const std::string rootfs = (*mounts)[0].source;
  CHECK(ocirun_test::ReadFile(rootfs + "/etc/motd") == "hello from layer 2\n");
  CHECK_FALSE(ocirun_test::Exists(rootfs + "/etc/removed-by-layer2"));
  CHECK_FALSE(ocirun_test::Exists(rootfs + "/etc/.wh.removed-by-layer2"));
  CHECK_FALSE(ocirun_test::Exists(rootfs + "/opt/opaque/old.txt"));
  CHECK(ocirun_test::Exists(rootfs + "/opt/opaque/new.txt"));
  CHECK(ocirun_test::Exists(rootfs + "/bin/busybox"));

  // Pulled again: the record is updated, nothing is fetched or unpacked.
  statuses.clear();
  auto again = puller.Pull("ns", registry.domain() + "/busybox:v2", options);
  REQUIRE(again.ok());
  CHECK_FALSE(again->created);
  CHECK(again->chain_id == pulled->chain_id);
  CHECK(std::count(statuses.begin(), statuses.end(), "exists") == 3);

  CHECK(gantry::contd::images::PrepareRootfs(**content, images, **native, "ns", "no/such:image",
                                             "container-2")
            .status()
            .code() == absl::StatusCode::kNotFound);
  CHECK((*native)->Remove("ns", "container-1").ok());
}
