// Image import and export through contd's Images service, with Debian's
// skopeo as the independent reader and writer of docker-archive and OCI
// archives, and Debian's docker-registry as the source of the images.
#include <sys/prctl.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/digest.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "contd/v1/content.grpc.pb.h"
#include "contd/v1/event_types.pb.h"
#include "contd/v1/images.grpc.pb.h"
#include "contd/v1/snapshots.grpc.pb.h"
#include "tests/integration/contd_event_subscriber.h"
#include "tests/integration/contd_test_util.h"
#include "tests/integration/ocirun_test_util.h"
#include "tests/integration/registry_test_util.h"
#include "tests/layer_tar.h"

namespace {

namespace v1 = gantry::contd::v1;
using registry_test::TestRegistry;

constexpr char kSkopeo[] = "/usr/bin/skopeo";
constexpr char kTar[] = "/usr/bin/tar";
constexpr size_t kChunk = 256 << 10;

nlohmann::json Fixtures() {
  auto doc = gantry::ReadJsonFile(GANTRY_FIXTURES_DIR "/fixtures.json");
  REQUIRE(doc.ok());
  return *doc;
}

std::string Fixture(const std::string& path) {
  auto bytes = gantry::ReadFile(absl::StrCat(GANTRY_FIXTURES_DIR, "/", path));
  REQUIRE(bytes.ok());
  return *bytes;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& ns, int seconds = 120) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("containerd-namespace", ns);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

void Run(const std::vector<std::string>& argv, std::string* out = nullptr) {
  auto result = ocirun_test::RunProcess(argv, "", std::chrono::seconds(120));
  INFO(absl::StrJoin(argv, " ") << ": " << result.out << result.err);
  REQUIRE(result.exit_code == 0);
  if (out != nullptr) *out = result.out;
}

// One member of a tar file, read with GNU tar.
std::string TarMember(const std::string& tar, const std::string& member) {
  std::string out;
  Run({kTar, "-xOf", tar, member}, &out);
  return out;
}

struct ImportOutcome {
  grpc::Status status;
  std::vector<v1::ImportImageProgress> events;
  std::vector<v1::Image> images;  // from the last event
  // The top layer's chain ID: the last "done" layer event's.
  std::string chain_id;
};

struct ImportRequest {
  std::string snapshotter = "native";
  std::optional<bool> unpack;
  std::string name;
  std::string base_name;
};

// contd and a registry in one temporary directory.
class ArchiveEnv {
 public:
  ArchiveEnv() : registry_(env_.MakeDir("registry")) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    contd_ = std::make_unique<gantry::testing::ContdProcess>(env_.MakeDir("contd"));
    auto channel = contd_->Connect();
    images = v1::Images::NewStub(channel);
    content = v1::Content::NewStub(channel);
    snapshots = v1::Snapshots::NewStub(channel);
  }
  ~ArchiveEnv() {
    for (const auto& [ns, key] : snapshots_) {
      v1::RemoveSnapshotRequest request;
      request.set_snapshotter("native");
      request.set_key(key);
      google::protobuf::Empty empty;
      auto context = Context(ns);
      (void)snapshots->Remove(context.get(), request, &empty);
    }
    contd_.reset();
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }

  std::string Path(const std::string& name) const { return env_.dir() + "/" + name; }

  // The fixture image put in the registry by skopeo and pulled (without
  // unpacking) into `ns`; its name.
  std::string PullFixture(const std::string& ns) {
    registry_test::PushFixture(registry_.domain(), "busybox:latest", {"--dest-tls-verify=false"});
    const std::string name = registry_.domain() + "/busybox:latest";
    v1::PullImageRequest request;
    request.set_reference(name);
    request.set_unpack(false);
    auto context = Context(ns);
    auto stream = images->Pull(context.get(), request);
    v1::PullImageProgress event;
    while (stream->Read(&event)) {
    }
    grpc::Status status = stream->Finish();
    INFO(status.error_message());
    REQUIRE(status.ok());
    return name;
  }

  // The archive's bytes, or the error.
  std::pair<grpc::Status, std::string> Export(const std::string& ns,
                                              const std::vector<std::string>& names,
                                              bool all_platforms = false) {
    v1::ExportImageRequest request;
    for (const std::string& name : names) request.add_names(name);
    request.set_all_platforms(all_platforms);
    auto context = Context(ns);
    auto stream = images->Export(context.get(), request);
    std::string bytes;
    v1::ExportImageChunk chunk;
    while (stream->Read(&chunk)) bytes += chunk.data();
    return {stream->Finish(), bytes};
  }

  ImportOutcome Import(const std::string& ns, const std::string& archive,
                       const ImportRequest& options = {}) {
    auto context = Context(ns);
    auto stream = images->Import(context.get());
    v1::ImportImageRequest first;
    first.set_snapshotter(options.snapshotter);
    if (options.unpack.has_value()) first.set_unpack(*options.unpack);
    first.set_name(options.name);
    first.set_base_name(options.base_name);
    bool writing = stream->Write(first);
    for (size_t at = 0; writing && at < archive.size(); at += kChunk) {
      v1::ImportImageRequest chunk;
      chunk.set_data(archive.substr(at, kChunk));
      writing = stream->Write(chunk);
    }
    stream->WritesDone();
    ImportOutcome outcome;
    v1::ImportImageProgress event;
    while (stream->Read(&event)) {
      outcome.events.push_back(event);
      if (event.status() == "done" && !event.chain_id().empty())
        outcome.chain_id = event.chain_id();
      if (event.images_size() > 0) {
        outcome.images.assign(event.images().begin(), event.images().end());
      }
    }
    outcome.status = stream->Finish();
    return outcome;
  }

  grpc::Status GetImage(const std::string& ns, const std::string& name,
                        v1::Image* image = nullptr) {
    v1::GetImageRequest request;
    request.set_name(name);
    v1::GetImageResponse response;
    auto context = Context(ns);
    grpc::Status status = images->Get(context.get(), request, &response);
    if (image != nullptr) *image = response.image();
    return status;
  }

  std::vector<v1::ContentInfo> Blobs(const std::string& ns) {
    auto context = Context(ns);
    auto stream = content->List(context.get(), v1::ListContentRequest());
    std::vector<v1::ContentInfo> blobs;
    v1::ListContentResponse response;
    while (stream->Read(&response)) {
      blobs.insert(blobs.end(), response.info().begin(), response.info().end());
    }
    REQUIRE(stream->Finish().ok());
    return blobs;
  }

  std::vector<v1::ContentStatus> Ingests(const std::string& ns) {
    auto context = Context(ns);
    v1::ListContentStatusesResponse response;
    REQUIRE(content->ListStatuses(context.get(), v1::ListContentStatusesRequest(), &response).ok());
    return {response.statuses().begin(), response.statuses().end()};
  }

  std::string ReadBlob(const std::string& ns, const std::string& digest) {
    v1::ReadContentRequest request;
    request.set_digest(digest);
    auto context = Context(ns);
    auto stream = content->Read(context.get(), request);
    std::string bytes;
    v1::ReadContentResponse response;
    while (stream->Read(&response)) bytes += response.data();
    REQUIRE(stream->Finish().ok());
    return bytes;
  }

  // The directory of a native snapshot on top of `chain_id`, removed with
  // the environment.
  std::string Rootfs(const std::string& ns, const std::string& chain_id) {
    const std::string key = absl::StrCat("rootfs-", snapshots_.size());
    v1::PrepareSnapshotRequest request;
    request.set_snapshotter("native");
    request.set_key(key);
    request.set_parent(chain_id);
    v1::PrepareSnapshotResponse response;
    auto context = Context(ns);
    grpc::Status status = snapshots->Prepare(context.get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    snapshots_.emplace_back(ns, key);
    REQUIRE(response.mounts_size() == 1);
    return response.mounts(0).source();
  }

  ocirun_test::OcirunEnv env_;
  TestRegistry registry_;
  std::unique_ptr<gantry::testing::ContdProcess> contd_;
  std::unique_ptr<v1::Images::Stub> images;
  std::unique_ptr<v1::Content::Stub> content;
  std::unique_ptr<v1::Snapshots::Stub> snapshots;

 private:
  std::vector<std::pair<std::string, std::string>> snapshots_;
};

std::string ReadFileOrFail(const std::string& path) {
  auto bytes = gantry::ReadFile(path);
  INFO(path);
  REQUIRE(bytes.ok());
  return *bytes;
}

void WriteFileOrFail(const std::string& path, const std::string& bytes) {
  REQUIRE(gantry::WriteFileAtomic(path, bytes).ok());
}

// The fixture image's busybox rootfs and both layers, run with chroot.
void CheckBusyboxRootfs(const std::string& rootfs) {
  auto run = ocirun_test::RunProcess(
      {"/usr/sbin/chroot", rootfs, "/bin/sh", "-c",
       "cat /etc/motd; ls /opt/opaque; test -e /etc/removed-by-layer2 || echo whiteout-applied"});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(absl::StrContains(run.out, "hello from layer 2"));
  CHECK(absl::StrContains(run.out, "new.txt"));
  CHECK_FALSE(absl::StrContains(run.out, "old.txt"));
  CHECK(absl::StrContains(run.out, "whiteout-applied"));
}

// Each "stored" or "exists" digest of an import.
std::set<std::string> BlobEvents(const ImportOutcome& outcome) {
  std::set<std::string> digests;
  for (const auto& event : outcome.events) {
    if (event.status() == "stored" || event.status() == "exists") digests.insert(event.digest());
  }
  return digests;
}

// The fixture OCI archive unpacked into `dir`, changed by `edit`, and
// packed again with GNU tar ("./"-prefixed names, as `tar -C dir .` makes).
std::string EditedFixture(const std::string& dir,
                          const std::function<void(const std::string&)>& edit) {
  REQUIRE(gantry::MakeDirs(dir).ok());
  Run({kTar, "-xf", GANTRY_FIXTURES_DIR "/images/busybox-oci.tar", "-C", dir});
  edit(dir);
  const std::string out = dir + ".tar";
  Run({kTar, "-cf", out, "-C", dir, "."});
  return ReadFileOrFail(out);
}

}  // namespace

TEST_CASE("an image pulled by contd exports as an archive that skopeo reads as both formats",
          "[contd][archive][export]") {
  ArchiveEnv env;
  const nlohmann::json fixtures = Fixtures();
  const std::string domain = env.registry_.domain();
  const std::string name = env.PullFixture("pulls");
  const std::string manifest = fixtures["oci"]["manifest"]["digest"];
  const std::string config = fixtures["config"]["digest"];

  // Named twice, exported once.
  auto [status, bytes] = env.Export("pulls", {name, name});
  INFO(status.error_message());
  REQUIRE(status.ok());
  const std::string tar = env.Path("export.tar");
  WriteFileOrFail(tar, bytes);

  // The docker-archive half: manifest.json points at the stored blobs.
  auto docker = nlohmann::json::parse(TarMember(tar, "manifest.json"));
  REQUIRE(docker.size() == 1);
  CHECK(docker[0]["Config"] == "blobs/sha256/" + config.substr(7));
  CHECK(docker[0]["RepoTags"] == nlohmann::json::array({name}));
  REQUIRE(docker[0]["Layers"].size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    const std::string layer = fixtures["oci"]["layers"][i]["digest"];
    CHECK(docker[0]["Layers"][i] == "blobs/sha256/" + layer.substr(7));
  }
  auto repositories = nlohmann::json::parse(TarMember(tar, "repositories"));
  CHECK(repositories.contains(domain + "/busybox"));
  // The OCI half: the image's manifest under its names.
  auto index = nlohmann::json::parse(TarMember(tar, "index.json"));
  REQUIRE(index["manifests"].size() == 1);
  CHECK(index["manifests"][0]["digest"] == manifest);
  CHECK(index["manifests"][0]["annotations"]["io.containerd.image.name"] == name);
  CHECK(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "latest");
  CHECK(nlohmann::json::parse(TarMember(tar, "oci-layout"))["imageLayoutVersion"] == "1.0.0");

  // skopeo reads the same image from each half.
  std::string raw_config;
  Run({kSkopeo, "inspect", "--config", "--raw", "docker-archive:" + tar}, &raw_config);
  CHECK(gantry::Digest::FromBytes(raw_config).str() == config);
  std::string inspected;
  Run({kSkopeo, "inspect", "docker-archive:" + tar}, &inspected);
  CHECK(nlohmann::json::parse(inspected)["Layers"] == fixtures["diff_ids"]);
  std::string raw_manifest;
  Run({kSkopeo, "inspect", "--raw", "oci-archive:" + tar + ":latest"}, &raw_manifest);
  CHECK(gantry::Digest::FromBytes(raw_manifest).str() == manifest);
  Run({kSkopeo, "inspect", "--config", "--raw", "oci-archive:" + tar + ":latest"}, &raw_config);
  CHECK(gantry::Digest::FromBytes(raw_config).str() == config);

  // And copies it back to the registry unchanged.
  Run({kSkopeo, "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false",
       "oci-archive:" + tar + ":latest", "docker://" + domain + "/copied:v1"});
  std::string copied;
  Run({kSkopeo, "inspect", "--raw", "--tls-verify=false", "docker://" + domain + "/copied:v1"},
      &copied);
  CHECK(gantry::Digest::FromBytes(copied).str() == manifest);

  // A short name finds the image; an unknown one is NOT_FOUND before any byte.
  auto [missing, nothing] = env.Export("pulls", {name, "no/such:image"});
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(nothing.empty());
  auto [none, empty] = env.Export("pulls", {});
  CHECK(none.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("docker-archive and OCI archives made by skopeo import and their rootfs runs",
          "[contd][archive][import]") {
  ArchiveEnv env;
  const nlohmann::json fixtures = Fixtures();
  const std::string domain = env.registry_.domain();
  registry_test::PushFixture(domain, "busybox:latest", {"--dest-tls-verify=false"});
  const std::string docker_tar = env.Path("docker.tar");
  const std::string oci_tar = env.Path("oci.tar");
  Run({kSkopeo, "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
       "docker://" + domain + "/busybox:latest", "docker-archive:" + docker_tar + ":x:tag"});
  Run({kSkopeo, "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
       "docker://" + domain + "/busybox:latest", "oci-archive:" + oci_tar + ":x:tag"});
  const std::string config = fixtures["config"]["digest"];

  SECTION("docker-archive: a Docker schema 2 manifest is made for it") {
    ImportOutcome imported = env.Import("imports", ReadFileOrFail(docker_tar));
    INFO(imported.status.error_message());
    REQUIRE(imported.status.ok());
    REQUIRE(imported.images.size() == 1);
    const v1::Image& image = imported.images[0];
    CHECK(image.name() == "docker.io/library/x:tag");
    CHECK(image.target().media_type() == "application/vnd.docker.distribution.manifest.v2+json");
    auto manifest = nlohmann::json::parse(env.ReadBlob("imports", image.target().digest()));
    CHECK(manifest["config"]["digest"] == config);
    // skopeo stores the layers uncompressed: their digests are the diff IDs.
    REQUIRE(manifest["layers"].size() == 2);
    for (size_t i = 0; i < 2; ++i) {
      CHECK(manifest["layers"][i]["digest"] == fixtures["diff_ids"][i]);
      CHECK(manifest["layers"][i]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar");
    }
    CHECK(BlobEvents(imported).size() == 4);  // config, two layers, the manifest
    v1::Image stored;
    REQUIRE(env.GetImage("imports", "docker.io/library/x:tag", &stored).ok());
    CHECK(stored.target().digest() == image.target().digest());
    REQUIRE_FALSE(imported.chain_id.empty());
    CheckBusyboxRootfs(env.Rootfs("imports", imported.chain_id));
    CHECK(env.Ingests("imports").empty());
  }

  SECTION("OCI archive: the manifest keeps its digest") {
    ImportOutcome imported = env.Import("imports", ReadFileOrFail(oci_tar));
    INFO(imported.status.error_message());
    REQUIRE(imported.status.ok());
    REQUIRE(imported.images.size() == 1);
    CHECK(imported.images[0].name() == "docker.io/library/x:tag");
    CHECK(imported.images[0].target().digest() == fixtures["oci"]["manifest"]["digest"]);
    REQUIRE_FALSE(imported.chain_id.empty());
    CheckBusyboxRootfs(env.Rootfs("imports", imported.chain_id));

    // Imported again: the record is updated, every blob is there already.
    ImportOutcome again = env.Import("imports", ReadFileOrFail(oci_tar));
    REQUIRE(again.status.ok());
    for (const auto& event : again.events) {
      if (!event.digest().empty() && event.status() != "extracting" && event.status() != "done") {
        CHECK(event.status() == "exists");
      }
    }
    CHECK(again.chain_id == imported.chain_id);
  }

  SECTION("the fixture's Docker 25 archive is read as OCI, with its names") {
    ImportOutcome imported =
        env.Import("imports", Fixture("images/busybox-docker.tar"), {"native", false, "", ""});
    INFO(imported.status.error_message());
    REQUIRE(imported.status.ok());
    REQUIRE(imported.images.size() == 1);
    CHECK(imported.images[0].name() == "docker.io/library/busybox:latest");
    CHECK(imported.images[0].target().digest() == fixtures["docker"]["manifest"]["digest"]);
    CHECK(imported.chain_id.empty());
  }
}

TEST_CASE("an exported image imports into another namespace with the same digests",
          "[contd][archive][roundtrip]") {
  ArchiveEnv env;
  const std::string name = env.PullFixture("pulls");
  v1::Image pulled;
  REQUIRE(env.GetImage("pulls", name, &pulled).ok());

  auto [status, bytes] = env.Export("pulls", {name});
  REQUIRE(status.ok());
  gantry::testing::Subscriber events(env.contd_->Connect(), {"topic~=/images/"});
  ImportOutcome imported = env.Import("copy", bytes);
  INFO(imported.status.error_message());
  REQUIRE(imported.status.ok());
  REQUIRE(imported.images.size() == 1);
  CHECK(imported.images[0].name() == name);
  CHECK(imported.images[0].target().digest() == pulled.target().digest());
  CHECK(imported.images[0].target().media_type() == pulled.target().media_type());
  std::set<std::string> copied;
  for (const auto& blob : env.Blobs("copy")) copied.insert(blob.digest());
  std::set<std::string> original;
  for (const auto& blob : env.Blobs("pulls")) original.insert(blob.digest());
  CHECK(copied == original);
  CheckBusyboxRootfs(env.Rootfs("copy", imported.chain_id));

  // /images/create, then /images/update when the same archive comes again.
  REQUIRE(env.Import("copy", bytes).status.ok());
  v1::Envelope created = events.Next();
  CHECK(created.topic() == "/images/create");
  CHECK(created.namespace_() == "copy");
  v1::ImageCreate create_event;
  REQUIRE(created.event().UnpackTo(&create_event));
  CHECK(create_event.name() == name);
  v1::Envelope updated = events.Next();
  CHECK(updated.topic() == "/images/update");
  v1::ImageUpdate update_event;
  REQUIRE(updated.event().UnpackTo(&update_event));
  CHECK(update_event.name() == name);
}

TEST_CASE("images an archive leaves unnamed get the given name, base name or digest",
          "[contd][archive][names]") {
  ArchiveEnv env;
  const nlohmann::json fixtures = Fixtures();
  const std::string manifest = fixtures["oci"]["manifest"]["digest"];
  auto with_annotations = [&](const std::string& dir, nlohmann::json annotations) {
    return EditedFixture(env.Path(dir), [&](const std::string& root) {
      auto index = nlohmann::json::parse(ReadFileOrFail(root + "/index.json"));
      index["manifests"][0]["annotations"] = std::move(annotations);
      WriteFileOrFail(root + "/index.json", index.dump());
    });
  };
  const std::string unnamed = with_annotations("unnamed", nlohmann::json::object());
  const std::string tag_only =
      with_annotations("tag-only", {{"org.opencontainers.image.ref.name", "v2"}});
  const ImportRequest no_unpack{"native", false, "", ""};

  ImportOutcome named = env.Import("names", unnamed, {"native", false, "named:v1", ""});
  INFO(named.status.error_message());
  REQUIRE(named.status.ok());
  REQUIRE(named.images.size() == 1);
  CHECK(named.images[0].name() == "docker.io/library/named:v1");
  CHECK(named.images[0].target().digest() == manifest);

  ImportOutcome based = env.Import("names", unnamed, {"native", false, "", "example.com/base"});
  REQUIRE(based.status.ok());
  CHECK(based.images[0].name() == "example.com/base@" + manifest);

  ImportOutcome dated = env.Import("names", unnamed, no_unpack);
  REQUIRE(dated.status.ok());
  CHECK_THAT(dated.images[0].name(),
             Catch::StartsWith("docker.io/library/import-") && Catch::EndsWith("@" + manifest));

  ImportOutcome tagged = env.Import("names", tag_only, {"native", false, "", "example.com/base"});
  REQUIRE(tagged.status.ok());
  CHECK(tagged.images[0].name() == "example.com/base:v2");
}

TEST_CASE("a malicious or broken archive fails naming the problem and leaves nothing behind",
          "[contd][archive][malicious]") {
  ArchiveEnv env;
  const nlohmann::json fixtures = Fixtures();
  const std::string layer = fixtures["oci"]["layers"][1]["digest"];
  std::string archive;
  std::string expected;
  SECTION("a member named ../escape") {
    gantry::testing::LayerTar tar;
    tar.File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})").File("../escape", "gotcha");
    archive = tar.Bytes();
    expected = "\"../escape\": path with \"..\" refused";
  }
  SECTION("an absolute member name") {
    gantry::testing::LayerTar tar;
    tar.File("/etc/escape", "gotcha");
    archive = tar.Bytes();
    expected = "absolute path refused";
  }
  SECTION("a blob whose bytes do not match its name") {
    archive = EditedFixture(env.Path("corrupt"), [&](const std::string& root) {
      const std::string path = root + "/blobs/sha256/" + layer.substr(7);
      std::string bytes = ReadFileOrFail(path);
      bytes[bytes.size() / 2] ^= 0x5a;
      ::unlink(path.c_str());
      WriteFileOrFail(path, bytes);
    });
    expected = "blobs/sha256/" + layer.substr(7) + "\": its bytes have digest";
  }
  SECTION("a manifest.json layer outside the archive") {
    gantry::testing::LayerTar tar;
    tar.File("config.json", "{}")
        .File("manifest.json",
              R"([{"Config":"config.json","RepoTags":["x:y"],"Layers":["../../etc/passwd"]}])");
    archive = tar.Bytes();
    expected = "manifest.json[0].Layers[0]: path \"../../etc/passwd\" leads outside the archive";
  }
  SECTION("a layer the archive lacks") {
    archive = EditedFixture(env.Path("missing"), [&](const std::string& root) {
      ::unlink((root + "/blobs/sha256/" + layer.substr(7)).c_str());
    });
    expected = layer + " is not in the archive";
  }
  SECTION("neither manifest.json nor index.json") {
    gantry::testing::LayerTar tar;
    tar.File("hello.txt", "hi");
    archive = tar.Bytes();
    expected = "neither manifest.json (docker-archive) nor index.json (OCI image layout)";
  }
  SECTION("an OCI layout without index.json") {
    archive = EditedFixture(env.Path("no-index"), [&](const std::string& root) {
      ::unlink((root + "/index.json").c_str());
    });
    expected = "index.json: missing";
  }
  SECTION("not a tar stream") {
    archive = std::string(4096, 'x');
    expected = "archive: ";
  }

  ImportOutcome outcome = env.Import("evil", archive);
  INFO(outcome.status.error_message());
  CHECK(outcome.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(outcome.status.error_message(), Catch::Contains(expected));
  CHECK(outcome.images.empty());
  auto context = Context("evil");
  v1::ListImagesResponse listed;
  REQUIRE(env.images->List(context.get(), v1::ListImagesRequest(), &listed).ok());
  CHECK(listed.images().empty());
  CHECK(env.Blobs("evil").empty());
  CHECK(env.Ingests("evil").empty());
}

TEST_CASE("a docker 20.10 docker-archive (<id>/layer.tar, shared layers as symlinks) imports",
          "[contd][archive][legacy]") {
  ArchiveEnv env;
  const nlohmann::json fixtures = Fixtures();
  const std::string config_digest = fixtures["config"]["digest"];
  const std::string config_hex = config_digest.substr(7);
  const std::string root = env.Path("legacy");
  REQUIRE(gantry::MakeDirs(root).ok());
  const std::string config =
      TarMember(GANTRY_FIXTURES_DIR "/images/busybox-oci.tar", "blobs/sha256/" + config_hex);
  WriteFileOrFail(root + "/" + config_hex + ".json", config);
  // Layer directories as docker 20.10 names them (v1 IDs), with their
  // json and VERSION files; the second image shares layer 1 by a symlink.
  const std::vector<std::string> ids = {std::string(64, 'a'), std::string(64, 'b'),
                                        std::string(64, 'c')};
  for (const std::string& id : ids) {
    REQUIRE(gantry::MakeDirs(root + "/" + id).ok());
    WriteFileOrFail(root + "/" + id + "/VERSION", "1.0");
    WriteFileOrFail(root + "/" + id + "/json", R"({"id":")" + id + R"("})");
  }
  WriteFileOrFail(root + "/" + ids[0] + "/layer.tar", Fixture("images/layers/layer1.tar"));
  WriteFileOrFail(root + "/" + ids[1] + "/layer.tar", Fixture("images/layers/layer2.tar"));
  REQUIRE(::symlink(("../" + ids[0] + "/layer.tar").c_str(),
                    (root + "/" + ids[2] + "/layer.tar").c_str()) == 0);
  const nlohmann::json manifest =
      nlohmann::json::array({{{"Config", config_hex + ".json"},
                              {"RepoTags", {"legacy:v1"}},
                              {"Layers", {ids[0] + "/layer.tar", ids[1] + "/layer.tar"}}},
                             {{"Config", config_hex + ".json"},
                              {"RepoTags", {"legacy:v2", "example.com/legacy:v3"}},
                              {"Layers", {ids[2] + "/layer.tar", ids[1] + "/layer.tar"}}}});
  WriteFileOrFail(root + "/manifest.json", manifest.dump());
  WriteFileOrFail(root + "/repositories", R"({"legacy":{"v1":")" + ids[1] + R"("}})");
  Run({kTar, "-cf", root + ".tar", "-C", root, "."});

  ImportOutcome imported = env.Import("legacy", ReadFileOrFail(root + ".tar"));
  INFO(imported.status.error_message());
  REQUIRE(imported.status.ok());
  REQUIRE(imported.images.size() == 3);
  std::set<std::string> names;
  for (const auto& image : imported.images) {
    names.insert(image.name());
    CHECK(image.target().digest() == imported.images[0].target().digest());
  }
  CHECK(names == std::set<std::string>{"docker.io/library/legacy:v1", "docker.io/library/legacy:v2",
                                       "example.com/legacy:v3"});
  auto built = nlohmann::json::parse(env.ReadBlob("legacy", imported.images[0].target().digest()));
  CHECK(built["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json");
  CHECK(built["config"]["digest"] == config_digest);
  CHECK(built["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json");
  REQUIRE(built["layers"].size() == 2);
  CHECK(built["layers"][0]["digest"] == fixtures["diff_ids"][0]);
  CHECK(built["layers"][1]["digest"] == fixtures["diff_ids"][1]);
  // The v1 json and VERSION files are not kept: config, two layers, manifest.
  CHECK(env.Blobs("legacy").size() == 4);
  CHECK(env.Ingests("legacy").empty());
  CheckBusyboxRootfs(env.Rootfs("legacy", imported.chain_id));

  // contd exports it as Docker 25 would, and skopeo reads that.
  auto [status, bytes] = env.Export("legacy", {"legacy:v1"});
  INFO(status.error_message());
  REQUIRE(status.ok());
  WriteFileOrFail(env.Path("legacy-export.tar"), bytes);
  std::string raw_config;
  Run({kSkopeo, "inspect", "--config", "--raw", "docker-archive:" + env.Path("legacy-export.tar")},
      &raw_config);
  CHECK(gantry::Digest::FromBytes(raw_config).str() == config_digest);
}

TEST_CASE("an OCI archive whose image is a multi-platform index imports and exports one platform",
          "[contd][archive][index]") {
  ArchiveEnv env;
  const nlohmann::json fixtures = Fixtures();
  const nlohmann::json amd64 = {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                {"digest", fixtures["oci"]["manifest"]["digest"]},
                                {"size", fixtures["oci"]["manifest"]["size"]},
                                {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}};
  // An arm64 manifest the archive does not carry, as a one-platform export has it.
  nlohmann::json arm64 = amd64;
  arm64["digest"] = gantry::Digest::FromBytes("not in the archive").str();
  arm64["platform"]["architecture"] = "arm64";
  const std::string index = nlohmann::json{
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.index.v1+json"},
      {"manifests",
       {arm64, amd64}}}.dump();
  const std::string index_digest = gantry::Digest::FromBytes(index).str();
  const std::string archive = EditedFixture(env.Path("multi"), [&](const std::string& root) {
    WriteFileOrFail(root + "/blobs/sha256/" + index_digest.substr(7), index);
    const nlohmann::json top = {
        {"schemaVersion", 2},
        {"manifests",
         {{{"mediaType", "application/vnd.oci.image.index.v1+json"},
           {"digest", index_digest},
           {"size", index.size()},
           {"annotations", {{"io.containerd.image.name", "example.com/multi:v1"}}}}}}};
    WriteFileOrFail(root + "/index.json", top.dump());
  });
  const std::string name = "example.com/multi:v1";

  SECTION("the host's platform is unpacked; the missing one is not needed") {
    ImportOutcome imported = env.Import("multi", archive);
    INFO(imported.status.error_message());
    REQUIRE(imported.status.ok());
    REQUIRE(imported.images.size() == 1);
    CHECK(imported.images[0].name() == name);
    CHECK(imported.images[0].target().digest() == index_digest);
    CheckBusyboxRootfs(env.Rootfs("multi", imported.chain_id));

    // Exported for the host: the index and its amd64 manifest, which
    // skopeo picks from it.
    auto [status, bytes] = env.Export("multi", {name});
    INFO(status.error_message());
    REQUIRE(status.ok());
    const std::string tar = env.Path("multi-export.tar");
    WriteFileOrFail(tar, bytes);
    std::string raw_config;
    Run({kSkopeo, "inspect", "--config", "--raw", "oci-archive:" + tar + ":v1"}, &raw_config);
    CHECK(gantry::Digest::FromBytes(raw_config).str() == fixtures["config"]["digest"]);
    ImportOutcome again = env.Import("multi-copy", bytes);
    INFO(again.status.error_message());
    REQUIRE(again.status.ok());
    CHECK(again.images[0].target().digest() == index_digest);

    // Every platform: the arm64 manifest is not there to export.
    auto [all, none] = env.Export("multi", {name}, true);
    CHECK(all.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK_THAT(all.error_message(), Catch::Contains(arm64["digest"].get<std::string>()));
    CHECK(none.empty());
  }

  SECTION("unpacking the platform the archive lacks is refused") {
    auto context = Context("multi");
    auto stream = env.images->Import(context.get());
    v1::ImportImageRequest first;
    first.set_platform("linux/arm64");
    first.set_data(archive);
    stream->Write(first);
    stream->WritesDone();
    v1::ImportImageProgress event;
    while (stream->Read(&event)) {
    }
    grpc::Status status = stream->Finish();
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(),
               Catch::Contains(arm64["digest"].get<std::string>() + " is not in the archive"));
    CHECK(env.Blobs("multi").empty());
  }

  SECTION("a gzip-compressed archive is read as well") {
    WriteFileOrFail(env.Path("multi.tar"), archive);
    Run({"/usr/bin/gzip", "-f", env.Path("multi.tar")});
    ImportOutcome imported =
        env.Import("multi", ReadFileOrFail(env.Path("multi.tar.gz")), {"native", false, "", ""});
    INFO(imported.status.error_message());
    REQUIRE(imported.status.ok());
    CHECK(imported.images[0].target().digest() == index_digest);
  }
}
