// Garbage collection in a real contd against Debian's docker-registry:
// deleting an image removes the blobs and snapshots no other image, container
// or lease uses, and gives the disk back; a collection running throughout a
// pull leaves a complete image that runs.
#include <dirent.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "tests/integration/contd_pull_env.h"
#include "tests/layer_tar.h"

namespace {

namespace v1 = gantry::contd::v1;
using pull_test::Context;
using pull_test::DiskUsage;
using pull_test::Fixtures;
using pull_test::PullEnv;
using pull_test::PullOutcome;

// An image of two layers in the registry: the fixture's base layer and one
// of its own (a 2 MiB random file and /etc/motd).
struct OtherImage {
  std::string manifest;
  std::string config;
  std::string layer;  // its own
};

OtherImage PushOtherImage(const std::string& domain) {
  const nlohmann::json fixtures = Fixtures();
  std::string noise(2 << 20, '\0');
  std::mt19937_64 rng(11);
  for (char& c : noise) c = static_cast<char>(rng());
  gantry::testing::LayerTar tar;
  tar.File("etc/motd", "hello from the other image\n").File("opt/noise.bin", noise);
  pull_test::LayerBlob own = pull_test::NewLayer(tar.Bytes());
  const nlohmann::json base = fixtures["oci"]["layers"][0];
  pull_test::LayerBlob shared = {base["mediaType"].get<std::string>(),
                                 *gantry::Digest::Parse(base["digest"].get<std::string>()),
                                 base["size"].get<int64_t>(), ""};
  const pull_test::PushedImage pushed =
      pull_test::PushImage(pull_test::Ref(domain + "/busybox:other"), {shared, own},
                           {fixtures["diff_ids"][0].get<std::string>(), own.digest.str()});
  return {pushed.manifest, pushed.config, own.digest.str()};
}

std::string BlobFile(PullEnv& env, const std::string& digest) {
  return env.contd_root() + "/content/blobs/sha256/" + digest.substr(strlen("sha256:"));
}

// Entries of a directory ("." and ".." aside).
size_t CountEntries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return 0;
  size_t n = 0;
  while (dirent* e = ::readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
  }
  ::closedir(d);
  return n;
}

PullOutcome PullOk(PullEnv& env, const std::string& reference) {
  PullOutcome pulled = env.Pull(reference);
  INFO(pulled.status.error_message());
  REQUIRE(pulled.status.ok());
  return pulled;
}

// The chain ID of each layer, from the pull's "done" events.
std::vector<std::string> ChainIds(const PullOutcome& pulled) {
  std::vector<std::string> chain_ids;
  for (const auto& event : pulled.events) {
    if (event.status() == "done" && !event.chain_id().empty() && !event.has_image()) {
      chain_ids.push_back(event.chain_id());
    }
  }
  return chain_ids;
}

void DeleteImage(PullEnv& env, const std::string& name, bool sync = true) {
  v1::DeleteImageRequest request;
  request.set_name(name);
  request.set_sync(sync);
  google::protobuf::Empty empty;
  grpc::Status status = env.images->Delete(Context().get(), request, &empty);
  INFO(status.error_message());
  REQUIRE(status.ok());
}

void CreateLease(PullEnv& env, const std::string& id,
                 const std::map<std::string, std::string>& labels = {}) {
  v1::CreateLeaseRequest request;
  request.set_id(id);
  request.mutable_labels()->insert(labels.begin(), labels.end());
  v1::CreateLeaseResponse response;
  grpc::Status status = env.leases->Create(Context().get(), request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
}

grpc::Status DeleteLease(PullEnv& env, const std::string& id, bool sync = true) {
  v1::DeleteLeaseRequest request;
  request.set_id(id);
  request.set_sync(sync);
  google::protobuf::Empty empty;
  return env.leases->Delete(Context().get(), request, &empty);
}

// A collection, run to its end: what deleting a throwaway lease with sync does.
void CollectGarbage(PullEnv& env) {
  static std::atomic<int> n{0};
  const std::string id = absl::StrCat("collect-", n++);
  CreateLease(env, id);
  grpc::Status status = DeleteLease(env, id);
  INFO(status.error_message());
  REQUIRE(status.ok());
}

// Writes `data` as a blob through Content.Write, under `lease` when set.
std::string WriteBlob(PullEnv& env, const std::string& data, const std::string& lease) {
  const std::string digest = gantry::Digest::FromBytes(data).str();
  auto context = Context();
  if (!lease.empty()) context->AddMetadata("containerd-lease", lease);
  auto stream = env.content->Write(context.get());
  v1::WriteContentRequest request;
  request.set_action(v1::WRITE_ACTION_COMMIT);
  request.set_ref("write-" + digest);
  request.set_total(static_cast<int64_t>(data.size()));
  request.set_expected(digest);
  request.set_data(data);
  REQUIRE(stream->Write(request));
  v1::WriteContentResponse response;
  REQUIRE(stream->Read(&response));
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  INFO(status.error_message());
  REQUIRE(status.ok());
  return digest;
}

}  // namespace

TEST_CASE("removing images returns disk space: what another image uses stays", "[contd][gc]") {
  PullEnv env;
  const nlohmann::json fixtures = Fixtures();
  const std::string domain = env.registry_.domain();
  registry_test::PushFixture(domain, "busybox:latest", {"--dest-tls-verify=false"});
  const OtherImage other = PushOtherImage(domain);
  const std::string base_layer = fixtures["oci"]["layers"][0]["digest"].get<std::string>();
  const std::string busybox_manifest = fixtures["oci"]["manifest"]["digest"].get<std::string>();
  const std::string snapshot_dirs = env.contd_root() + "/snapshots/overlayfs/snapshots";

  const PullOutcome busybox = PullOk(env, domain + "/busybox:latest");
  const PullOutcome second = PullOk(env, domain + "/busybox:other");
  const std::vector<std::string> busybox_chain = ChainIds(busybox);
  const std::vector<std::string> other_chain = ChainIds(second);
  REQUIRE(busybox_chain.size() == 2);
  REQUIRE(other_chain.size() == 2);
  CHECK(busybox_chain[0] == other_chain[0]);  // the shared base layer's snapshot

  // The pulls' temporary leases are gone; containerd's labels tie the blobs.
  v1::ListLeasesResponse leases;
  REQUIRE(env.leases->List(Context().get(), v1::ListLeasesRequest(), &leases).ok());
  CHECK(leases.leases_size() == 0);
  v1::ContentInfoRequest info_request;
  v1::ContentInfoResponse info;
  info_request.set_digest(other.manifest);
  REQUIRE(env.content->Info(Context().get(), info_request, &info).ok());
  CHECK(info.info().labels().at("containerd.io/gc.ref.content.config") == other.config);
  CHECK(info.info().labels().at("containerd.io/gc.ref.content.l.0") == base_layer);
  CHECK(info.info().labels().at("containerd.io/gc.ref.content.l.1") == other.layer);
  info_request.set_digest(other.config);
  REQUIRE(env.content->Info(Context().get(), info_request, &info).ok());
  CHECK(info.info().labels().at("containerd.io/gc.ref.snapshot.overlayfs") == other_chain[1]);
  info_request.set_digest(other.layer);
  REQUIRE(env.content->Info(Context().get(), info_request, &info).ok());
  CHECK(info.info().labels().at("containerd.io/uncompressed") == other.layer);

  const int64_t both = DiskUsage(env.contd_root());
  CHECK(CountEntries(snapshot_dirs) == 3);
  DeleteImage(env, domain + "/busybox:other");
  for (const std::string& gone : {other.manifest, other.config, other.layer}) {
    CHECK(env.ContentInfo(gone).error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK_FALSE(ocirun_test::Exists(BlobFile(env, gone)));
  }
  CHECK(env.ContentInfo(base_layer).ok());
  CHECK(ocirun_test::Exists(BlobFile(env, base_layer)));
  CHECK(env.ContentInfo(busybox_manifest).ok());
  std::vector<std::string> expected = busybox_chain;
  std::sort(expected.begin(), expected.end());
  CHECK(env.SnapshotKeys("overlayfs") == expected);
  CHECK(CountEntries(snapshot_dirs) == 2);
  const int64_t one = DiskUsage(env.contd_root());
  WARN("contd root: " << both << " bytes with both images, " << one << " with one");
  CHECK(both - one > (2 << 20));
  // The remaining image still runs.
  CHECK(absl::StrContains(
      env.RunOnImage(busybox.image.name(), busybox_chain[1], "cat /etc/motd").output,
      "hello from layer 2"));

  DeleteImage(env, domain + "/busybox:latest");
  v1::ListContentResponse listed;
  auto list_context = Context();
  auto stream = env.content->List(list_context.get(), v1::ListContentRequest());
  size_t remaining = 0;
  while (stream->Read(&listed)) remaining += listed.info_size();
  CHECK(stream->Finish().ok());
  CHECK(remaining == 0);
  CHECK(CountEntries(env.contd_root() + "/content/blobs/sha256") == 0);
  CHECK(env.SnapshotKeys("overlayfs").empty());
  CHECK(CountEntries(snapshot_dirs) == 0);
  const int64_t none = DiskUsage(env.contd_root());
  WARN("contd root: " << none << " bytes with no image");
  CHECK(one - none > fixtures["oci"]["layers"][0]["size"].get<int64_t>());
}

TEST_CASE("a container keeps its snapshot and a lease its content until they go",
          "[contd][gc][leases]") {
  PullEnv env;
  const std::string domain = env.registry_.domain();
  registry_test::PushFixture(domain, "busybox:latest", {"--dest-tls-verify=false"});
  const PullOutcome busybox = PullOk(env, domain + "/busybox:latest");
  const std::vector<std::string> chain = ChainIds(busybox);
  REQUIRE(chain.size() == 2);

  // A container's snapshot, prepared under a lease that goes once the
  // container record holds it.
  CreateLease(env, "setup");
  v1::PrepareSnapshotRequest prepare;
  prepare.set_snapshotter("overlayfs");
  prepare.set_key("rootfs-web");
  prepare.set_parent(chain[1]);
  v1::PrepareSnapshotResponse prepared;
  {
    auto context = Context();
    context->AddMetadata("containerd-lease", "setup");
    REQUIRE(env.snapshots->Prepare(context.get(), prepare, &prepared).ok());
  }
  v1::ListLeaseResourcesRequest resources_request;
  resources_request.set_id("setup");
  v1::ListLeaseResourcesResponse resources;
  REQUIRE(env.leases->ListResources(Context().get(), resources_request, &resources).ok());
  REQUIRE(resources.resources_size() == 1);
  CHECK(resources.resources(0).type() == "snapshots/overlayfs");
  CHECK(resources.resources(0).id() == "rootfs-web");
  v1::CreateContainerRequest create;
  create.mutable_container()->set_id("web");
  create.mutable_container()->set_image(busybox.image.name());
  create.mutable_container()->set_snapshotter("overlayfs");
  create.mutable_container()->set_snapshot_key("rootfs-web");
  create.mutable_container()->mutable_runtime()->set_name("io.gantry.ocirun.v1");
  create.mutable_container()->mutable_spec()->set_type_url("types.containerd.io/x");
  v1::CreateContainerResponse created;
  REQUIRE(env.containers->Create(Context().get(), create, &created).ok());
  REQUIRE(DeleteLease(env, "setup").ok());

  // The image goes: its blobs with it, its layers' snapshots stay under the
  // container's.
  DeleteImage(env, busybox.image.name());
  CHECK(env.ContentInfo(busybox.image.target().digest()).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  std::vector<std::string> kept = {chain[0], chain[1], "rootfs-web"};
  std::sort(kept.begin(), kept.end());
  CHECK(env.SnapshotKeys("overlayfs") == kept);
  // Then the container: nothing holds the snapshots any more.
  v1::DeleteContainerRequest remove;
  remove.set_id("web");
  google::protobuf::Empty empty;
  REQUIRE(env.containers->Delete(Context().get(), remove, &empty).ok());
  // The delete schedules a collection of its own.
  for (int i = 0; i < 100 && !env.SnapshotKeys("overlayfs").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(env.SnapshotKeys("overlayfs").empty());

  // Content written under a lease stays until the lease goes; content no
  // lease or image holds goes at the next collection.
  CreateLease(env, "keep");
  const std::string precious = WriteBlob(env, "precious bytes", "keep");
  const std::string stray = WriteBlob(env, "stray bytes", "");
  CreateLease(env, "expired", {{"containerd.io/gc.expire", "2020-01-01T00:00:00Z"}});
  const std::string expired = WriteBlob(env, "expired bytes", "expired");
  CollectGarbage(env);
  CHECK(env.ContentInfo(precious).ok());
  CHECK(env.ContentInfo(stray).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(env.ContentInfo(expired).error_code() == grpc::StatusCode::NOT_FOUND);
  v1::ListLeasesResponse leases;
  REQUIRE(env.leases->List(Context().get(), v1::ListLeasesRequest(), &leases).ok());
  REQUIRE(leases.leases_size() == 1);  // the expired lease was collected too
  CHECK(leases.leases(0).id() == "keep");
  resources_request.set_id("keep");
  REQUIRE(env.leases->ListResources(Context().get(), resources_request, &resources).ok());
  std::vector<std::string> held;
  for (const auto& r : resources.resources()) held.push_back(r.type() + " " + r.id());
  CHECK(held == std::vector<std::string>{"content " + precious, "ingests write-" + precious});
  REQUIRE(DeleteLease(env, "keep").ok());
  CHECK(env.ContentInfo(precious).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(DeleteLease(env, "keep").error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("collections running throughout a pull leave a complete image that runs", "[contd][gc]") {
  PullEnv env;
  const std::string domain = env.registry_.domain();
  registry_test::PushFixture(domain, "busybox:latest", {"--dest-tls-verify=false"});
  const OtherImage other = PushOtherImage(domain);
  PullOk(env, domain + "/busybox:latest");

  // While the second image (sharing the first's base layer) is pulled, the
  // first is deleted and collections run back to back.
  std::atomic<bool> pulling{true};
  std::atomic<int> collections{0};
  std::thread collector([&] {
    while (pulling) {
      CollectGarbage(env);
      ++collections;
    }
  });
  DeleteImage(env, domain + "/busybox:latest", /*sync=*/false);
  PullOutcome second = env.Pull(domain + "/busybox:other");
  pulling = false;
  collector.join();
  WARN(collections << " collections ran during the pull");
  INFO(second.status.error_message());
  REQUIRE(second.status.ok());
  CHECK(collections > 0);

  CollectGarbage(env);
  for (const std::string& digest : {other.manifest, other.config, other.layer}) {
    CHECK(env.ContentInfo(digest).ok());
  }
  CHECK(env.ContentInfo(Fixtures()["oci"]["layers"][0]["digest"].get<std::string>()).ok());
  const std::vector<std::string> chain = ChainIds(second);
  REQUIRE(chain.size() == 2);
  std::vector<std::string> expected = chain;
  std::sort(expected.begin(), expected.end());
  CHECK(env.SnapshotKeys("overlayfs") == expected);
  const pull_test::TaskRun run =
      env.RunOnImage(second.image.name(), chain[1], "cat /etc/motd; ls /opt/noise.bin");
  CHECK(run.exit_status == 0);
  CHECK(absl::StrContains(run.output, "hello from the other image"));
  CHECK(absl::StrContains(run.output, "/opt/noise.bin"));
}
