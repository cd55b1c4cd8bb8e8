// What the contd pull and garbage-collection tests share: Debian's
// docker-registry and a real contd in one temporary directory, with stubs of
// contd's services, the fixture image's digests, and helpers around them.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/digest.h"
#include "common/json_log.h"
#include "common/json_util.h"
#include "contd/registry/blob_io.h"
#include "contd/registry/registry_client.h"
#include "contd/v1/containers.grpc.pb.h"
#include "contd/v1/content.grpc.pb.h"
#include "contd/v1/images.grpc.pb.h"
#include "contd/v1/leases.grpc.pb.h"
#include "contd/v1/snapshots.grpc.pb.h"
#include "contd/v1/tasks.grpc.pb.h"
#include "tests/integration/contd_test_util.h"
#include "tests/integration/ocirun_test_util.h"
#include "tests/integration/registry_test_util.h"

namespace pull_test {

namespace v1 = gantry::contd::v1;
using registry_test::TestRegistry;

inline nlohmann::json Fixtures() {
  auto doc = gantry::ReadJsonFile(GANTRY_FIXTURES_DIR "/fixtures.json");
  REQUIRE(doc.ok());
  return *doc;
}

inline std::unique_ptr<grpc::ClientContext> Context(int seconds = 60) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("containerd-namespace", "pulls");
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

struct PullOutcome {
  grpc::Status status;
  std::vector<v1::PullImageProgress> events;
  v1::Image image;  // from the last event
};

struct TaskRun {
  uint32_t exit_status = 0;
  std::string output;  // stdout
};

// A registry, contd and the fixture bundle's spec in one temporary dir.
class PullEnv {
 public:
  PullEnv() : registry_(env_.MakeDir("registry")) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    contd_ = std::make_unique<gantry::testing::ContdProcess>(env_.MakeDir("contd"));
    auto channel = contd_->Connect();
    images = v1::Images::NewStub(channel);
    content = v1::Content::NewStub(channel);
    snapshots = v1::Snapshots::NewStub(channel);
    containers = v1::Containers::NewStub(channel);
    tasks = v1::Tasks::NewStub(channel);
    leases = v1::Leases::NewStub(channel);
  }
  ~PullEnv() {
    contd_.reset();
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }

  std::string contd_root() const { return env_.dir() + "/contd/root"; }

  // Pulls, calling `on_event` on each progress message.
  PullOutcome Pull(const std::string& reference,
                   const std::function<void(const v1::PullImageProgress&)>& on_event = {},
                   std::optional<bool> unpack = std::nullopt, const std::string& platform = "") {
    v1::PullImageRequest request;
    request.set_reference(reference);
    request.set_platform(platform);
    if (unpack.has_value()) request.set_unpack(*unpack);
    auto context = Context(120);
    auto stream = images->Pull(context.get(), request);
    PullOutcome outcome;
    v1::PullImageProgress event;
    while (stream->Read(&event)) {
      if (on_event) on_event(event);
      outcome.events.push_back(event);
      if (event.has_image()) outcome.image = event.image();
    }
    outcome.status = stream->Finish();
    return outcome;
  }

  // Pushes image `name` to `reference`; the status and the pushed digest.
  std::pair<grpc::Status, std::string> Push(const std::string& name, const std::string& reference) {
    v1::PushImageRequest request;
    request.set_name(name);
    request.set_reference(reference);
    auto context = Context(120);
    auto stream = images->Push(context.get(), request);
    v1::PushImageProgress event;
    std::string digest;
    while (stream->Read(&event)) {
      if (!event.manifest_digest().empty()) digest = event.manifest_digest();
    }
    return {stream->Finish(), digest};
  }

  grpc::Status GetImage(const std::string& name, v1::Image* image = nullptr) {
    v1::GetImageRequest request;
    request.set_name(name);
    v1::GetImageResponse response;
    auto context = Context();
    grpc::Status status = images->Get(context.get(), request, &response);
    if (image != nullptr) *image = response.image();
    return status;
  }

  grpc::Status ContentInfo(const std::string& digest) {
    v1::ContentInfoRequest request;
    request.set_digest(digest);
    v1::ContentInfoResponse response;
    auto context = Context();
    return content->Info(context.get(), request, &response);
  }

  // Keys of the snapshotter's snapshots, sorted.
  std::vector<std::string> SnapshotKeys(const std::string& snapshotter) {
    v1::ListSnapshotsRequest request;
    request.set_snapshotter(snapshotter);
    auto context = Context();
    auto stream = snapshots->List(context.get(), request);
    std::vector<std::string> keys;
    v1::ListSnapshotsResponse batch;
    while (stream->Read(&batch)) {
      for (const auto& info : batch.info()) keys.push_back(info.name());
    }
    REQUIRE(stream->Finish().ok());
    return keys;
  }

  // Runs `script` (sh -c) as a task of a container whose rootfs is a new
  // snapshot on `chain_id`, prepared under a lease as containerd's clients
  // do, then removes the task, the container and the snapshot.
  TaskRun RunOnImage(const std::string& image, const std::string& chain_id,
                     const std::string& script) {
    const std::string id = env_.NewId();
    const std::string key = "rootfs-" + id;
    v1::CreateLeaseRequest lease;
    lease.set_id("setup-" + id);
    v1::CreateLeaseResponse lease_created;
    REQUIRE(leases->Create(Context().get(), lease, &lease_created).ok());
    v1::PrepareSnapshotRequest prepare;
    prepare.set_snapshotter("overlayfs");
    prepare.set_key(key);
    prepare.set_parent(chain_id);
    v1::PrepareSnapshotResponse prepared;
    {
      auto context = Context();
      context->AddMetadata("containerd-lease", lease.id());
      grpc::Status status = snapshots->Prepare(context.get(), prepare, &prepared);
      INFO(status.error_message());
      REQUIRE(status.ok());
    }
    nlohmann::json spec = env_.config();
    spec["root"]["path"] = "rootfs";
    spec["process"]["args"] = {"sh", "-c", script};
    v1::CreateContainerRequest create;
    create.mutable_container()->set_id(id);
    create.mutable_container()->set_image(image);
    create.mutable_container()->set_snapshotter("overlayfs");
    create.mutable_container()->set_snapshot_key(key);
    create.mutable_container()->mutable_runtime()->set_name("io.gantry.ocirun.v1");
    create.mutable_container()->mutable_spec()->set_type_url(
        "types.containerd.io/opencontainers/runtime-spec/1/Spec");
    create.mutable_container()->mutable_spec()->set_value(spec.dump());
    v1::CreateContainerResponse created;
    REQUIRE(containers->Create(Context().get(), create, &created).ok());
    // The container record keeps the snapshot from here on.
    google::protobuf::Empty empty;
    v1::DeleteLeaseRequest release;
    release.set_id(lease.id());
    REQUIRE(leases->Delete(Context().get(), release, &empty).ok());

    v1::CreateTaskRequest task;
    task.set_container_id(id);
    *task.mutable_rootfs() = prepared.mounts();
    const std::string log = env_.dir() + "/" + id + ".log";
    task.mutable_log()->set_path(log);
    v1::CreateTaskResponse task_created;
    {
      grpc::Status status = tasks->Create(Context().get(), task, &task_created);
      INFO(status.error_message());
      REQUIRE(status.ok());
    }
    v1::StartTaskRequest start;
    start.set_container_id(id);
    v1::StartTaskResponse started;
    REQUIRE(tasks->Start(Context().get(), start, &started).ok());
    v1::WaitTaskRequest wait;
    wait.set_container_id(id);
    v1::WaitTaskResponse waited;
    REQUIRE(tasks->Wait(Context().get(), wait, &waited).ok());
    TaskRun run;
    run.exit_status = waited.exit_status();
    auto records = gantry::ReadJsonLog(log);
    REQUIRE(records.ok());
    for (const auto& record : *records) {
      if (record.stream == "stdout") run.output += record.log;
    }
    WARN("container output:\n" << run.output);

    v1::DeleteTaskRequest delete_task;
    delete_task.set_container_id(id);
    v1::DeleteTaskResponse deleted_task;
    CHECK(tasks->Delete(Context().get(), delete_task, &deleted_task).ok());
    v1::DeleteContainerRequest delete_container;
    delete_container.set_id(id);
    CHECK(containers->Delete(Context().get(), delete_container, &empty).ok());
    v1::RemoveSnapshotRequest remove;
    remove.set_snapshotter("overlayfs");
    remove.set_key(key);
    // Garbage collection may take the snapshot first, as soon as the
    // container that held it is gone (a collection the pull scheduled).
    const grpc::Status removed = snapshots->Remove(Context().get(), remove, &empty);
    CHECK((removed.ok() || removed.error_code() == grpc::StatusCode::NOT_FOUND));
    return run;
  }

  ocirun_test::OcirunEnv env_;
  TestRegistry registry_;
  std::unique_ptr<gantry::testing::ContdProcess> contd_;
  std::unique_ptr<v1::Images::Stub> images;
  std::unique_ptr<v1::Content::Stub> content;
  std::unique_ptr<v1::Snapshots::Stub> snapshots;
  std::unique_ptr<v1::Containers::Stub> containers;
  std::unique_ptr<v1::Tasks::Stub> tasks;
  std::unique_ptr<v1::Leases::Stub> leases;
};

inline std::unique_ptr<gantry::registry::RegistryClient> RegistryClient() {
  gantry::registry::RegistryClientOptions options;
  options.hosts.certs_dir = "/nonexistent";
  auto client = gantry::registry::RegistryClient::Create(std::move(options));
  REQUIRE(client.ok());
  return *std::move(client);
}

inline gantry::registry::Reference Ref(const std::string& text) {
  auto ref = gantry::registry::Reference::Parse(text);
  REQUIRE(ref.ok());
  return *ref;
}

// The digest of the manifest skopeo reads at docker://`image`.
inline std::string SkopeoDigest(const std::string& image) {
  auto raw = ocirun_test::RunProcess(
      {"/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + image});
  INFO(raw.err);
  REQUIRE(raw.exit_code == 0);
  return gantry::Digest::FromBytes(raw.out).str();
}

inline int64_t DiskUsage(const std::string& dir) {
  auto du = ocirun_test::RunProcess({"/usr/bin/du", "-s", "-B1", dir});
  REQUIRE(du.exit_code == 0);
  return std::stoll(du.out);
}

// A layer of an image to push: its bytes, or (bytes empty) a blob the
// repository has already.
struct LayerBlob {
  std::string media_type;
  gantry::Digest digest;
  int64_t size = 0;
  std::string bytes;
};

inline LayerBlob NewLayer(std::string bytes) {
  const gantry::Digest digest = gantry::Digest::FromBytes(bytes);
  const auto size = static_cast<int64_t>(bytes.size());
  return {"application/vnd.oci.image.layer.v1.tar", digest, size, std::move(bytes)};
}

struct PushedImage {
  std::string manifest;  // digest
  std::string config;    // digest
};

// Pushes the layers that have bytes, an amd64 config with `diff_ids`, and an
// OCI manifest of them tagged as `tagged` says.
inline PushedImage PushImage(const gantry::registry::Reference& tagged,
                             const std::vector<LayerBlob>& layers,
                             const std::vector<std::string>& diff_ids) {
  auto client = RegistryClient();
  const std::string config =
      nlohmann::json{{"architecture", "amd64"},
                     {"os", "linux"},
                     {"config", {{"Cmd", {"sh"}}}},
                     {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
          .dump();
  std::vector<LayerBlob> blobs = layers;
  blobs.push_back({"application/vnd.oci.image.config.v1+json", gantry::Digest::FromBytes(config),
                   static_cast<int64_t>(config.size()), config});
  nlohmann::json descriptors = nlohmann::json::array();
  for (const LayerBlob& blob : blobs) {
    descriptors.push_back(
        {{"mediaType", blob.media_type}, {"digest", blob.digest.str()}, {"size", blob.size}});
    if (blob.bytes.empty()) continue;
    gantry::registry::StringBlobSource source(blob.bytes);
    REQUIRE(client->PushBlob(tagged, {blob.media_type, blob.digest, blob.size}, source).ok());
  }
  const nlohmann::json config_descriptor = descriptors.back();
  descriptors.erase(descriptors.size() - 1);
  const nlohmann::json manifest = {{"schemaVersion", 2},
                                   {"mediaType", gantry::registry::kOciManifest},
                                   {"config", config_descriptor},
                                   {"layers", descriptors}};
  auto pushed = client->PushManifest(tagged, gantry::registry::kOciManifest, manifest.dump());
  REQUIRE(pushed.ok());
  return {pushed->str(), blobs.back().digest.str()};
}

}  // namespace pull_test
