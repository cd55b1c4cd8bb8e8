// The real contd serves Snapshots over gRPC: both snapshotters by name (the
// default when none is named), mounts that really mount, removal refused
// while children exist, namespaces kept apart, Cleanup and Usage.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "absl/strings/match.h"
#include "common/file_util.h"
#include "common/mount_list.h"
#include "contd/v1/snapshots.grpc.pb.h"
#include "tests/integration/contd_test_util.h"
#include "tests/snapshot_test_util.h"
#include "tests/temp_dir.h"

namespace {

using gantry::contd::v1::Snapshots;
using gantry::testing::ContdProcess;
using gantry::testing::ScopedMount;
using gantry::testing::TempDir;
namespace v1 = gantry::contd::v1;

std::unique_ptr<grpc::ClientContext> InNamespace(const std::string& ns) {
  auto context = std::make_unique<grpc::ClientContext>();
  gantry::testing::SetDeadline(*context);
  context->AddMetadata("containerd-namespace", ns);
  return context;
}

std::vector<gantry::Mount> FromProto(const google::protobuf::RepeatedPtrField<v1::Mount>& mounts) {
  std::vector<gantry::Mount> out;
  for (const v1::Mount& m : mounts) {
    out.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
  }
  return out;
}

class SnapshotsClient {
 public:
  explicit SnapshotsClient(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(Snapshots::NewStub(channel)) {}

  grpc::Status Prepare(const std::string& snapshotter, const std::string& key,
                       const std::string& parent, v1::PrepareSnapshotResponse* out,
                       const std::string& ns = "test") {
    v1::PrepareSnapshotRequest request;
    request.set_snapshotter(snapshotter);
    request.set_key(key);
    request.set_parent(parent);
    return stub_->Prepare(InNamespace(ns).get(), request, out);
  }
  grpc::Status Commit(const std::string& snapshotter, const std::string& name,
                      const std::string& key) {
    v1::CommitSnapshotRequest request;
    request.set_snapshotter(snapshotter);
    request.set_name(name);
    request.set_key(key);
    google::protobuf::Empty empty;
    return stub_->Commit(InNamespace("test").get(), request, &empty);
  }
  grpc::Status Remove(const std::string& snapshotter, const std::string& key) {
    v1::RemoveSnapshotRequest request;
    request.set_snapshotter(snapshotter);
    request.set_key(key);
    google::protobuf::Empty empty;
    return stub_->Remove(InNamespace("test").get(), request, &empty);
  }
  std::vector<v1::SnapshotInfo> List(const std::string& snapshotter, const std::string& ns,
                                     const std::string& filter = "") {
    v1::ListSnapshotsRequest request;
    request.set_snapshotter(snapshotter);
    if (!filter.empty()) request.add_filters(filter);
    auto context = InNamespace(ns);
    auto reader = stub_->List(context.get(), request);
    std::vector<v1::SnapshotInfo> infos;
    v1::ListSnapshotsResponse response;
    while (reader->Read(&response)) {
      for (const auto& i : response.info()) infos.push_back(i);
    }
    REQUIRE(reader->Finish().ok());
    return infos;
  }
  Snapshots::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<Snapshots::Stub> stub_;
};

}  // namespace

TEST_CASE("contd Snapshots: prepare, commit, mount, usage, list and remove over gRPC",
          "[contd][snapshots]") {
  TempDir dir("snap-test");
  ContdProcess contd(dir.path());
  SnapshotsClient client(contd.Connect());
  const std::string snapshotter = GENERATE(as<std::string>{}, "", "overlayfs", "native");
  INFO("snapshotter \"" << snapshotter << "\"");

  v1::PrepareSnapshotResponse base;
  REQUIRE(client.Prepare(snapshotter, "base-key", "", &base).ok());
  REQUIRE(base.mounts_size() == 1);
  CHECK(base.mounts(0).type() == "bind");
  CHECK(absl::StrContains(base.mounts(0).source(), "/root/snapshots/"));
  REQUIRE(gantry::WriteFileAtomic(base.mounts(0).source() + "/hello", "world").ok());
  REQUIRE(client.Commit(snapshotter, "base", "base-key").ok());

  v1::PrepareSnapshotResponse child;
  REQUIRE(client.Prepare(snapshotter, "container", "base", &child).ok());
  CHECK(child.mounts(0).type() == (snapshotter == "native" ? "bind" : "overlay"));
  {
    ScopedMount m(FromProto(child.mounts()), dir.path() + "/rootfs");
    CHECK(*gantry::ReadFile(m.path() + "/hello") == "world");
  }

  v1::StatSnapshotRequest stat;
  stat.set_snapshotter(snapshotter);
  stat.set_key("base");
  v1::StatSnapshotResponse info;
  REQUIRE(client.stub().Stat(InNamespace("test").get(), stat, &info).ok());
  CHECK(info.info().kind() == v1::SNAPSHOT_KIND_COMMITTED);
  CHECK(info.info().name() == "base");
  CHECK(info.info().has_created_at());

  v1::SnapshotUsageRequest usage_request;
  usage_request.set_snapshotter(snapshotter);
  usage_request.set_key("base");
  v1::SnapshotUsageResponse usage;
  REQUIRE(client.stub().Usage(InNamespace("test").get(), usage_request, &usage).ok());
  CHECK(usage.inodes() == 2);
  CHECK(usage.size() > 0);

  CHECK(client.List(snapshotter, "test").size() == 2);
  CHECK(client.List(snapshotter, "test", "kind==active").size() == 1);
  CHECK(client.List(snapshotter, "elsewhere").empty());

  const grpc::Status refused = client.Remove(snapshotter, "base");
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(absl::StrContains(refused.error_message(), "container"));
  CHECK(client.Remove(snapshotter, "container").ok());
  CHECK(client.Remove(snapshotter, "base").ok());
  CHECK(client.List(snapshotter, "test").empty());

  v1::CleanupSnapshotsRequest cleanup;
  cleanup.set_snapshotter(snapshotter);
  google::protobuf::Empty empty;
  CHECK(client.stub().Cleanup(InNamespace("test").get(), cleanup, &empty).ok());
  CHECK(WEXITSTATUS(contd.Stop(SIGTERM)) == 0);
}

TEST_CASE("contd Snapshots: unknown snapshotters and keys are errors naming them",
          "[contd][snapshots]") {
  TempDir dir("snap-test");
  ContdProcess contd(dir.path());
  SnapshotsClient client(contd.Connect());
  v1::PrepareSnapshotResponse response;
  const grpc::Status unknown = client.Prepare("zfs", "k", "", &response);
  CHECK(unknown.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(absl::StrContains(unknown.error_message(), "zfs"));
  const grpc::Status missing = client.Prepare("overlayfs", "k", "no-such-parent", &response);
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(absl::StrContains(missing.error_message(), "no-such-parent"));
  CHECK(client.Prepare("overlayfs", "k", "", &response).ok());
  CHECK(client.Prepare("overlayfs", "k", "", &response).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
  CHECK(client.Remove("overlayfs", "k").ok());
}
