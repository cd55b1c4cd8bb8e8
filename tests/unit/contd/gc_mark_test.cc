// The garbage collector's mark phase on a real metadata database: what
// images, containers, leases and gc.root labels keep, through parsed
// manifests and indexes, containerd's gc.ref labels and snapshot parents.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/digest.h"
#include "common/errors.h"
#include "contd/gc/mark.h"
#include "contd/images/image_store.h"
#include "contd/metadata/container_store.h"
#include "contd/metadata/database.h"
#include "contd/metadata/lease_store.h"
#include "contd/metadata/snapshot_store.h"
#include "tests/temp_dir.h"

namespace {

namespace v1 = gantry::contd::v1;
using gantry::contd::gc::Reachable;
using gantry::contd::gc::SnapshotRef;
using gantry::contd::metadata::Connection;
using gantry::contd::metadata::Database;
using gantry::contd::metadata::Statement;
using Labels = std::map<std::string, std::string>;

constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kIndexType[] = "application/vnd.oci.image.index.v1+json";
constexpr char kConfigType[] = "application/vnd.oci.image.config.v1+json";
constexpr char kLayerType[] = "application/vnd.oci.image.layer.v1.tar+gzip";

// A metadata database whose blobs are records plus bytes in memory.
class World {
 public:
  World() : dir_("gc-mark-test") {
    auto db = Database::Open(dir_.path());
    REQUIRE(db.ok());
    db_ = *std::move(db);
  }

  Database& db() { return *db_; }

  // Records a blob of `bytes` in the namespace and returns its digest.
  std::string Blob(const std::string& ns, const std::string& bytes, const Labels& labels = {}) {
    const std::string digest = gantry::Digest::FromBytes(bytes).str();
    bytes_[digest] = bytes;
    REQUIRE(db_->Write([&](Connection& conn) -> absl::Status {
                 GANTRY_RETURN_IF_ERROR(conn.Exec(
                     absl::StrCat("INSERT OR IGNORE INTO namespaces VALUES ('", ns, "', 0)")));
                 auto insert = conn.Prepare("INSERT INTO content_blobs VALUES (?, ?, ?, 0, 0)");
                 GANTRY_RETURN_IF_ERROR(insert.status());
                 GANTRY_RETURN_IF_ERROR(
                     insert->Bind(1, ns).Bind(2, digest).Bind(3, int64_t(bytes.size())).Run());
                 for (const auto& [key, value] : labels) {
                   auto label = conn.Prepare("INSERT INTO content_labels VALUES (?, ?, ?, ?)");
                   GANTRY_RETURN_IF_ERROR(label.status());
                   GANTRY_RETURN_IF_ERROR(
                       label->Bind(1, ns).Bind(2, digest).Bind(3, key).Bind(4, value).Run());
                 }
                 return absl::OkStatus();
               })
                .ok());
    return digest;
  }

  // A committed snapshot (`parent` "" for a base layer).
  void Snapshot(const std::string& ns, const std::string& snapshotter, const std::string& key,
                const std::string& parent, const Labels& labels = {}) {
    gantry::contd::metadata::SnapshotStore store(*db_, snapshotter);
    const std::string active = key + "-active";
    REQUIRE(store
                .Create(ns, active, parent, gantry::contd::snapshots::Kind::kActive, {},
                        [](int64_t) { return absl::OkStatus(); })
                .ok());
    REQUIRE(store.Commit(ns, key, active, labels).ok());
  }

  void Image(const std::string& ns, const std::string& name, const std::string& media_type,
             const std::string& digest) {
    v1::Image image;
    image.set_name(name);
    image.mutable_target()->set_media_type(media_type);
    image.mutable_target()->set_digest(digest);
    image.mutable_target()->set_size(1);
    REQUIRE(gantry::contd::images::ImageStore(*db_).Create(ns, image).ok());
  }

  Reachable Mark(const std::string& ns, absl::Time now = absl::Now()) {
    absl::StatusOr<Reachable> reached;
    REQUIRE(db_->Read([&](Connection& conn) -> absl::Status {
                 reached = gantry::contd::gc::Mark(
                     conn, ns, now,
                     [this](absl::string_view digest) -> absl::StatusOr<std::string> {
                       auto it = bytes_.find(std::string(digest));
                       if (it == bytes_.end()) return absl::NotFoundError(std::string(digest));
                       return it->second;
                     });
                 return reached.status();
               })
                .ok());
    return *std::move(reached);
  }

 private:
  gantry::testing::TempDir dir_;
  std::unique_ptr<Database> db_;
  std::map<std::string, std::string> bytes_;
};

std::string Descriptor(const char* media_type, const std::string& digest) {
  return absl::StrCat(R"({"mediaType":")", media_type, R"(","digest":")", digest, R"(","size":1})");
}

std::string ManifestJson(const std::string& config, const std::vector<std::string>& layers) {
  std::string json =
      absl::StrCat(R"({"schemaVersion":2,"mediaType":")", kManifestType, R"(","config":)",
                   Descriptor(kConfigType, config), R"(,"layers":[)");
  for (size_t i = 0; i < layers.size(); ++i) {
    absl::StrAppend(&json, i ? "," : "", Descriptor(kLayerType, layers[i]));
  }
  return json + "]}";
}

std::string IndexJson(const std::vector<std::string>& manifests) {
  std::string json =
      absl::StrCat(R"({"schemaVersion":2,"mediaType":")", kIndexType, R"(","manifests":[)");
  for (size_t i = 0; i < manifests.size(); ++i) {
    absl::StrAppend(&json, i ? "," : "", Descriptor(kManifestType, manifests[i]));
  }
  return json + "]}";
}

}  // namespace

TEST_CASE("gc mark: an image keeps its index, manifest, config and layers, parsed", "[contd][gc]") {
  World world;
  const std::string config = world.Blob("ns", R"({"config-of":"app"})");
  const std::string layer1 = world.Blob("ns", "layer one");
  const std::string layer2 = world.Blob("ns", "layer two");
  const std::string manifest = world.Blob("ns", ManifestJson(config, {layer1, layer2}));
  // The index also lists another platform's manifest, never pulled.
  const std::string absent = gantry::Digest::FromBytes("arm64 manifest").str();
  const std::string index = world.Blob("ns", IndexJson({absent, manifest}));
  const std::string orphan = world.Blob("ns", "left over");
  // Another namespace's image does not keep this namespace's blobs.
  const std::string other_layer = world.Blob("other", "layer one");
  world.Image("ns", "app:v1", kIndexType, index);

  Reachable reached = world.Mark("ns");
  CHECK(reached.content.count(index) == 1);
  CHECK(reached.content.count(manifest) == 1);
  CHECK(reached.content.count(config) == 1);
  CHECK(reached.content.count(layer1) == 1);
  CHECK(reached.content.count(layer2) == 1);
  CHECK(reached.content.count(orphan) == 0);
  CHECK(world.Mark("other").content.empty());
  CHECK(other_layer == layer1);  // same bytes, separate records
}

TEST_CASE("gc mark: gc.ref labels lead to content and snapshots, snapshots to their parents",
          "[contd][gc]") {
  World world;
  world.Snapshot("ns", "overlayfs", "chain1", "");
  world.Snapshot("ns", "overlayfs", "chain2", "chain1");
  world.Snapshot("ns", "overlayfs", "stray", "chain1");
  world.Snapshot("ns", "native", "chain2", "");
  const std::string layer = world.Blob("ns", "layer", {{"containerd.io/uncompressed", "x"}});
  const std::string config =
      world.Blob("ns", "config", {{"containerd.io/gc.ref.snapshot.overlayfs", "chain2"}});
  // A manifest whose bytes are not JSON is kept through its labels alone.
  const std::string manifest = world.Blob("ns", "not json",
                                          {{"containerd.io/gc.ref.content.config", config},
                                           {"containerd.io/gc.ref.content.l.0", layer},
                                           {"containerd.io/gc.ref.contentious", "sha256:nothing"}});
  world.Image("ns", "app:v1", kManifestType, manifest);

  Reachable reached = world.Mark("ns");
  CHECK(reached.content == std::set<std::string>{manifest, config, layer});
  CHECK(reached.snapshots ==
        std::set<SnapshotRef>{{"overlayfs", "chain1"}, {"overlayfs", "chain2"}});
}

TEST_CASE("gc mark: containers keep their snapshot, gc.root keeps anything", "[contd][gc]") {
  World world;
  world.Snapshot("ns", "overlayfs", "base", "");
  world.Snapshot("ns", "overlayfs", "pinned", "", {{"containerd.io/gc.root", "2026-01-01"}});
  world.Snapshot("ns", "overlayfs", "unused", "");
  gantry::contd::metadata::SnapshotStore store(world.db(), "overlayfs");
  REQUIRE(store
              .Create("ns", "rootfs-web", "base", gantry::contd::snapshots::Kind::kActive, {},
                      [](int64_t) { return absl::OkStatus(); })
              .ok());
  const std::string kept = world.Blob("ns", "kept", {{"containerd.io/gc.root", "x"}});
  const std::string by_container = world.Blob("ns", "checkpoint");
  world.Blob("ns", "gone");
  v1::Container container;
  container.set_id("web");
  container.set_snapshotter("overlayfs");
  container.set_snapshot_key("rootfs-web");
  container.mutable_runtime()->set_name("io.gantry.ocirun.v1");
  container.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Spec");
  (*container.mutable_labels())["containerd.io/gc.ref.content.checkpoint"] = by_container;
  REQUIRE(gantry::contd::metadata::ContainerStore(world.db()).Create("ns", container).ok());

  Reachable reached = world.Mark("ns");
  CHECK(reached.snapshots == std::set<SnapshotRef>{{"overlayfs", "base"},
                                                   {"overlayfs", "pinned"},
                                                   {"overlayfs", "rootfs-web"}});
  CHECK(reached.content == std::set<std::string>{kept, by_container});
}

TEST_CASE("gc mark: leases hold their resources until they expire; a flat lease only those",
          "[contd][gc]") {
  World world;
  gantry::contd::metadata::LeaseStore leases(world.db());
  const std::string child = world.Blob("ns", "child");
  const std::string parent = world.Blob("ns", "parent", {{"containerd.io/gc.ref.content", child}});
  const std::string flat_child = world.Blob("ns", "flat child");
  const std::string flat_parent =
      world.Blob("ns", "flat parent", {{"containerd.io/gc.ref.content.x", flat_child}});
  const std::string expired_blob = world.Blob("ns", "expired");
  world.Snapshot("ns", "native", "base", "");
  world.Snapshot("ns", "native", "top", "base");

  REQUIRE(leases.Create("ns", "pull", {}).ok());
  REQUIRE(leases.AddResource("ns", "pull", gantry::contd::metadata::ContentResource(parent)).ok());
  REQUIRE(
      leases.AddResource("ns", "pull", gantry::contd::metadata::SnapshotResource("native", "top"))
          .ok());
  REQUIRE(leases.AddResource("ns", "pull", gantry::contd::metadata::IngestResource("pull-x")).ok());
  google::protobuf::Map<std::string, std::string> flat;
  flat["containerd.io/gc.flat"] = "";
  REQUIRE(leases.Create("ns", "flat", flat).ok());
  REQUIRE(
      leases.AddResource("ns", "flat", gantry::contd::metadata::ContentResource(flat_parent)).ok());
  google::protobuf::Map<std::string, std::string> expiring;
  expiring["containerd.io/gc.expire"] = "2030-01-01T00:00:00Z";
  REQUIRE(leases.Create("ns", "expiring", expiring).ok());
  REQUIRE(
      leases.AddResource("ns", "expiring", gantry::contd::metadata::ContentResource(expired_blob))
          .ok());

  Reachable before = world.Mark("ns", absl::FromUnixSeconds(1767225600));  // 2026-01-01
  CHECK(before.content == std::set<std::string>{parent, child, flat_parent, expired_blob});
  CHECK(before.snapshots == std::set<SnapshotRef>{{"native", "base"}, {"native", "top"}});
  CHECK(before.ingests == std::set<std::string>{"pull-x"});
  CHECK(before.expired_leases.empty());

  Reachable after = world.Mark("ns", absl::FromUnixSeconds(1893456000 + 1));  // past 2030
  CHECK(after.content.count(expired_blob) == 0);
  CHECK(after.expired_leases == std::vector<std::string>{"expiring"});

  REQUIRE(leases.Delete("ns", "pull").ok());
  Reachable released = world.Mark("ns", absl::FromUnixSeconds(1767225600));
  CHECK(released.content == std::set<std::string>{flat_parent, expired_blob});
  CHECK(released.snapshots.empty());
  CHECK(released.ingests.empty());
}

TEST_CASE("lease store: create, list with filters, resources, delete", "[contd][gc][leases]") {
  gantry::testing::TempDir dir("lease-store-test");
  auto db = Database::Open(dir.path());
  REQUIRE(db.ok());
  int deleted = 0;
  gantry::contd::metadata::LeaseStore leases(**db, [&deleted] { ++deleted; });
  google::protobuf::Map<std::string, std::string> labels;
  labels["purpose"] = "pull";
  auto named = leases.Create("ns", "mine", labels);
  REQUIRE(named.ok());
  CHECK(named->labels().at("purpose") == "pull");
  auto random = leases.Create("ns", "", {});
  REQUIRE(random.ok());
  CHECK_FALSE(random->id().empty());
  CHECK(absl::IsAlreadyExists(leases.Create("ns", "mine", {}).status()));
  CHECK(absl::IsInvalidArgument(leases.Create("ns", "bad id!", {}).status()));

  auto listed = leases.List("ns", {"labels.purpose==pull"});
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].id() == "mine");
  CHECK(leases.List("other", {})->empty());

  const std::string digest = gantry::Digest::FromBytes("x").str();
  REQUIRE(leases.AddResource("ns", "mine", gantry::contd::metadata::ContentResource(digest)).ok());
  REQUIRE(leases.AddResource("ns", "mine", gantry::contd::metadata::ContentResource(digest)).ok());
  REQUIRE(
      leases.AddResource("ns", "mine", gantry::contd::metadata::SnapshotResource("overlayfs", "k"))
          .ok());
  v1::LeaseResource bad;
  bad.set_type("volumes");
  bad.set_id("v");
  CHECK(absl::IsInvalidArgument(leases.AddResource("ns", "mine", bad)));
  bad.set_type("content");
  CHECK(absl::IsInvalidArgument(leases.AddResource("ns", "mine", bad)));
  CHECK(absl::IsNotFound(
      leases.AddResource("ns", "nope", gantry::contd::metadata::ContentResource(digest))));
  auto resources = leases.ListResources("ns", "mine");
  REQUIRE(resources.ok());
  REQUIRE(resources->size() == 2);
  CHECK((*resources)[0].type() == "content");
  CHECK((*resources)[1].type() == "snapshots/overlayfs");
  REQUIRE(
      leases.DeleteResource("ns", "mine", gantry::contd::metadata::ContentResource(digest)).ok());
  CHECK(leases.ListResources("ns", "mine")->size() == 1);

  REQUIRE(leases.Delete("ns", "mine").ok());
  CHECK(deleted == 1);
  CHECK(absl::IsNotFound(leases.Delete("ns", "mine")));
  CHECK(absl::IsNotFound(leases.ListResources("ns", "mine").status()));
}
