// The real contd serves Containers and Events over gRPC: records live in
// SQLite under --root (they survive a restart), namespaces keep clients
// apart, errors name what was wrong, and every change is published as an
// event that subscribers can filter.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/channel.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "contd/timestamps.h"
#include "contd/v1/containers.grpc.pb.h"
#include "contd/v1/event_types.pb.h"
#include "contd/v1/events.grpc.pb.h"
#include "tests/contd_test_container.h"
#include "tests/integration/contd_event_subscriber.h"
#include "tests/integration/contd_test_util.h"
#include "tests/temp_dir.h"

namespace {

using gantry::contd::v1::Container;
using gantry::contd::v1::Containers;
using gantry::contd::v1::Envelope;
using gantry::contd::v1::Events;
using gantry::testing::ContdProcess;
using gantry::testing::InNamespace;
using gantry::testing::MakeContainer;
using gantry::testing::Subscriber;
using gantry::testing::TempDir;

// Thin wrappers that return the gRPC status and fill the response.
class ContainersClient {
 public:
  explicit ContainersClient(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(Containers::NewStub(channel)) {}

  grpc::Status Create(const std::string& ns, const Container& c, Container* out = nullptr) {
    gantry::contd::v1::CreateContainerRequest request;
    *request.mutable_container() = c;
    gantry::contd::v1::CreateContainerResponse response;
    grpc::Status status = stub_->Create(InNamespace(ns).get(), request, &response);
    if (out != nullptr) *out = response.container();
    return status;
  }
  grpc::Status Get(const std::string& ns, const std::string& id, Container* out = nullptr) {
    gantry::contd::v1::GetContainerRequest request;
    request.set_id(id);
    gantry::contd::v1::GetContainerResponse response;
    grpc::Status status = stub_->Get(InNamespace(ns).get(), request, &response);
    if (out != nullptr) *out = response.container();
    return status;
  }
  // Ids listed, in order; fails the test on an error.
  std::vector<std::string> List(const std::string& ns, const std::vector<std::string>& filters) {
    grpc::Status status;
    std::vector<std::string> ids = ListStatus(ns, filters, &status);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return ids;
  }
  std::vector<std::string> ListStatus(const std::string& ns,
                                      const std::vector<std::string>& filters,
                                      grpc::Status* status) {
    gantry::contd::v1::ListContainersRequest request;
    for (const std::string& f : filters) request.add_filters(f);
    gantry::contd::v1::ListContainersResponse response;
    *status = stub_->List(InNamespace(ns).get(), request, &response);
    std::vector<std::string> ids;
    for (const Container& c : response.containers()) ids.push_back(c.id());
    return ids;
  }
  grpc::Status Update(const std::string& ns, const Container& c,
                      const std::vector<std::string>& paths, Container* out = nullptr) {
    gantry::contd::v1::UpdateContainerRequest request;
    *request.mutable_container() = c;
    for (const std::string& p : paths) request.mutable_update_mask()->add_paths(p);
    gantry::contd::v1::UpdateContainerResponse response;
    grpc::Status status = stub_->Update(InNamespace(ns).get(), request, &response);
    if (out != nullptr) *out = response.container();
    return status;
  }
  grpc::Status Delete(const std::string& ns, const std::string& id) {
    gantry::contd::v1::DeleteContainerRequest request;
    request.set_id(id);
    google::protobuf::Empty response;
    return stub_->Delete(InNamespace(ns).get(), request, &response);
  }

 private:
  std::unique_ptr<Containers::Stub> stub_;
};

void CheckOk(const grpc::Status& status) {
  INFO(status.error_message());
  CHECK(status.ok());
}

void CheckError(const grpc::Status& status, grpc::StatusCode code, const std::string& names) {
  INFO(status.error_code() << ": " << status.error_message());
  CHECK(status.error_code() == code);
  CHECK_THAT(status.error_message(), Catch::Contains(names));
}

}  // namespace

TEST_CASE("containers: create, get, list with filters, update with a mask, delete",
          "[contd][containers]") {
  TempDir dir("contd-containers-test");
  ContdProcess contd(dir.path());
  ContainersClient client(contd.Connect());

  Container web;
  CheckOk(client.Create("", MakeContainer("web"), &web));
  CHECK(web.created_at().seconds() > 0);
  Container db_request = MakeContainer("db");
  (*db_request.mutable_labels())["tier"] = "backend";
  (*db_request.mutable_labels())["com.example/backup"] = "daily";
  CheckOk(client.Create("default", db_request));

  Container got;
  CheckOk(client.Get("default", "web", &got));  // no metadata means "default"
  CHECK(got.image() == "docker.io/library/busybox:latest");
  CHECK(got.runtime().name() == "io.gantry.ocirun.v1");
  CHECK(got.spec().Is<google::protobuf::Struct>());
  CHECK(got.created_at() == web.created_at());

  CHECK(client.List("default", {}) == std::vector<std::string>{"db", "web"});
  CHECK(client.List("default", {"id==web"}) == std::vector<std::string>{"web"});
  CHECK(client.List("default", {"labels.tier==backend"}) == std::vector<std::string>{"db"});
  CHECK(client.List("default", {"labels.\"com.example/backup\"==daily"}) ==
        std::vector<std::string>{"db"});
  CHECK(client.List("default", {"id==web", "labels.tier==backend"}) ==
        std::vector<std::string>{"db", "web"});
  CHECK(client.List("default", {"id==web,labels.tier==backend"}).empty());

  Container change = MakeContainer("web");
  change.set_image("docker.io/library/nginx:latest");
  (*change.mutable_labels())["tier"] = "edge";
  Container updated;
  CheckOk(client.Update("default", change, {"labels.tier"}, &updated));
  CHECK(updated.labels().at("tier") == "edge");
  CHECK(updated.image() == "docker.io/library/busybox:latest");  // not in the mask
  CHECK(updated.created_at() == web.created_at());
  CHECK(updated.updated_at() >= web.updated_at());
  CheckOk(client.Update("default", change, {"image"}));
  CheckOk(client.Get("default", "web", &got));
  CHECK(got.image() == "docker.io/library/nginx:latest");
  CHECK(got.labels().at("tier") == "edge");
  CHECK(client.List("default", {"image~=nginx"}) == std::vector<std::string>{"web"});

  CheckOk(client.Delete("default", "web"));
  CHECK(client.List("default", {}) == std::vector<std::string>{"db"});
  CHECK(client.Get("default", "web").error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("containers: errors carry gRPC codes and name the culprit", "[contd][containers]") {
  TempDir dir("contd-containers-test");
  ContdProcess contd(dir.path());
  ContainersClient client(contd.Connect());
  CheckOk(client.Create("default", MakeContainer("web")));

  CheckError(client.Create("default", MakeContainer("web")), grpc::StatusCode::ALREADY_EXISTS,
             "container \"web\" already exists");
  CheckError(client.Get("default", "nope"), grpc::StatusCode::NOT_FOUND, "container \"nope\"");
  CheckError(client.Delete("default", "nope"), grpc::StatusCode::NOT_FOUND, "container \"nope\"");
  CheckError(client.Create("default", MakeContainer("")), grpc::StatusCode::INVALID_ARGUMENT,
             "container.id");
  CheckError(client.Create("default", MakeContainer("a b")), grpc::StatusCode::INVALID_ARGUMENT,
             "container.id \"a b\"");
  Container no_runtime = MakeContainer("x");
  no_runtime.clear_runtime();
  CheckError(client.Create("default", no_runtime), grpc::StatusCode::INVALID_ARGUMENT,
             "container.runtime.name");
  Container no_spec = MakeContainer("y");
  no_spec.clear_spec();
  CheckError(client.Create("default", no_spec), grpc::StatusCode::INVALID_ARGUMENT,
             "container.spec");
  CheckError(client.Update("default", MakeContainer("web"), {"id"}),
             grpc::StatusCode::INVALID_ARGUMENT, "\"id\"");
  CheckError(client.Update("default", MakeContainer("nope"), {"image"}),
             grpc::StatusCode::NOT_FOUND, "container \"nope\"");
  CheckError(client.Create("bad/ns", MakeContainer("z")), grpc::StatusCode::INVALID_ARGUMENT,
             "namespace \"bad/ns\"");
  grpc::Status status;
  client.ListStatus("default", {"labels.==x"}, &status);
  CheckError(status, grpc::StatusCode::INVALID_ARGUMENT, "filter \"labels.==x\"");
  CHECK(client.List("default", {}) == std::vector<std::string>{"web"});
}

TEST_CASE("containers: namespaces never see each other's containers", "[contd][containers]") {
  TempDir dir("contd-containers-test");
  ContdProcess contd(dir.path());
  ContainersClient client(contd.Connect());

  Container in_a = MakeContainer("web");
  in_a.set_image("image-a");
  Container in_b = MakeContainer("web");
  in_b.set_image("image-b");
  CheckOk(client.Create("team-a", in_a));
  CheckOk(client.Create("team-b", in_b));
  CheckOk(client.Create("team-b", MakeContainer("only-b")));

  Container got;
  CheckOk(client.Get("team-a", "web", &got));
  CHECK(got.image() == "image-a");
  CheckOk(client.Get("team-b", "web", &got));
  CHECK(got.image() == "image-b");
  CHECK(client.List("team-a", {}) == std::vector<std::string>{"web"});
  CHECK(client.List("team-b", {}) == std::vector<std::string>{"only-b", "web"});
  CHECK(client.List("default", {}).empty());
  CHECK(client.Get("team-a", "only-b").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(client.Delete("team-a", "only-b").error_code() == grpc::StatusCode::NOT_FOUND);

  CheckOk(client.Delete("team-a", "web"));
  CheckOk(client.Get("team-b", "web", &got));
  CHECK(got.image() == "image-b");
}

TEST_CASE("events: subscribers see container changes with namespace, time and topic filters",
          "[contd][events]") {
  TempDir dir("contd-containers-test");
  ContdProcess contd(dir.path());
  std::shared_ptr<grpc::Channel> channel = contd.Connect();
  ContainersClient client(channel);

  Subscriber everything(channel, {});
  Subscriber deletes(channel, {"topic==/containers/delete"});
  Subscriber team_b(channel, {"namespace==team-b"});
  const auto before = gantry::contd::Now();

  CheckOk(client.Create("team-a", MakeContainer("web")));
  Container change = MakeContainer("web");
  change.set_image("nginx");
  CheckOk(client.Update("team-a", change, {"image"}));
  CheckOk(client.Delete("team-a", "web"));
  CheckOk(client.Create("team-b", MakeContainer("db")));
  const auto after = gantry::contd::Now();

  Envelope create = everything.Next();
  CHECK(create.topic() == "/containers/create");
  CHECK(create.namespace_() == "team-a");
  CHECK(create.timestamp() >= before);
  CHECK(create.timestamp() <= after);
  gantry::contd::v1::ContainerCreate created;
  REQUIRE(create.event().UnpackTo(&created));
  CHECK(created.id() == "web");
  CHECK(created.image() == "docker.io/library/busybox:latest");
  CHECK(created.runtime().name() == "io.gantry.ocirun.v1");

  Envelope update = everything.Next();
  CHECK(update.topic() == "/containers/update");
  CHECK(update.timestamp() >= create.timestamp());
  gantry::contd::v1::ContainerUpdate updated;
  REQUIRE(update.event().UnpackTo(&updated));
  CHECK(updated.image() == "nginx");
  CHECK(updated.labels().at("tier") == "frontend");

  Envelope del = everything.Next();
  CHECK(del.topic() == "/containers/delete");
  CHECK(del.namespace_() == "team-a");
  CHECK(everything.Next().namespace_() == "team-b");

  Envelope only_delete = deletes.Next();
  CHECK(only_delete.topic() == "/containers/delete");
  gantry::contd::v1::ContainerDelete deleted;
  REQUIRE(only_delete.event().UnpackTo(&deleted));
  CHECK(deleted.id() == "web");

  Envelope b = team_b.Next();
  CHECK(b.namespace_() == "team-b");
  CHECK(b.topic() == "/containers/create");

  // Nothing else was queued for the filtered subscribers: the next event they
  // get is one published after these.
  CheckOk(client.Delete("team-b", "db"));
  CHECK(deletes.Next().namespace_() == "team-b");
  CHECK(team_b.Next().topic() == "/containers/delete");

  CHECK(everything.Cancel().error_code() == grpc::StatusCode::CANCELLED);
  CHECK(deletes.Cancel().error_code() == grpc::StatusCode::CANCELLED);
  CHECK(team_b.Cancel().error_code() == grpc::StatusCode::CANCELLED);
}

TEST_CASE("events: Publish and Forward reach subscribers; bad topics are refused",
          "[contd][events]") {
  TempDir dir("contd-containers-test");
  ContdProcess contd(dir.path());
  std::shared_ptr<grpc::Channel> channel = contd.Connect();
  auto events = Events::NewStub(channel);
  Subscriber oom(channel, {"topic==/tasks/oom,event.container_id==web"});

  gantry::contd::v1::TaskOOM other;
  other.set_container_id("db");
  gantry::contd::v1::TaskOOM web;
  web.set_container_id("web");
  gantry::contd::v1::PublishRequest publish;
  publish.set_topic("/tasks/oom");
  publish.mutable_event()->PackFrom(other);
  google::protobuf::Empty empty;
  CheckOk(events->Publish(InNamespace("k8s.io").get(), publish, &empty));
  publish.mutable_event()->PackFrom(web);
  CheckOk(events->Publish(InNamespace("k8s.io").get(), publish, &empty));

  Envelope got = oom.Next();
  CHECK(got.namespace_() == "k8s.io");
  gantry::contd::v1::TaskOOM received;
  REQUIRE(got.event().UnpackTo(&received));
  CHECK(received.container_id() == "web");

  gantry::contd::v1::ForwardRequest forward;
  *forward.mutable_envelope() = got;
  forward.mutable_envelope()->set_namespace_("shim-ns");
  CheckOk(events->Forward(InNamespace("").get(), forward, &empty));
  Envelope forwarded = oom.Next();
  CHECK(forwarded.namespace_() == "shim-ns");
  CHECK(forwarded.timestamp() == got.timestamp());  // kept, not restamped

  publish.set_topic("tasks/oom");
  CheckError(events->Publish(InNamespace("").get(), publish, &empty),
             grpc::StatusCode::INVALID_ARGUMENT, "topic \"tasks/oom\"");
  CheckError(events->Publish(InNamespace("-bad").get(), publish, &empty),
             grpc::StatusCode::INVALID_ARGUMENT, "namespace \"-bad\"");
  Subscriber bad_filter(channel, {"topic=="});
  CheckError(bad_filter.Finish(), grpc::StatusCode::INVALID_ARGUMENT, "filter \"topic==\"");
  CHECK(oom.Cancel().error_code() == grpc::StatusCode::CANCELLED);
}

// Threads of a process, from /proc/<pid>/status.
int ThreadCount(pid_t pid) {
  absl::StatusOr<std::string> status = gantry::ReadFile(absl::StrCat("/proc/", pid, "/status"));
  REQUIRE(status.ok());
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    int threads = 0;
    if (absl::ConsumePrefix(&line, "Threads:") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &threads)) {
      return threads;
    }
  }
  FAIL("no Threads: line");
  return 0;
}

TEST_CASE("events: idle subscriptions hold no thread and cancelled ones go away",
          "[contd][events]") {
  TempDir dir("contd-containers-test");
  ContdProcess contd(dir.path());
  std::shared_ptr<grpc::Channel> channel = contd.Connect();
  ContainersClient client(channel);
  {
    Subscriber warm_up(channel, {});  // lets gRPC start its pools
    CHECK(warm_up.Cancel().error_code() == grpc::StatusCode::CANCELLED);
  }
  const int baseline = ThreadCount(contd.pid());

  std::vector<std::unique_ptr<Subscriber>> subscribers;
  for (int i = 0; i < 32; ++i) {
    subscribers.push_back(std::make_unique<Subscriber>(channel, std::vector<std::string>{}));
  }
  CHECK(ThreadCount(contd.pid()) < baseline + 8);
  CheckOk(client.Create("default", MakeContainer("web")));
  for (auto& subscriber : subscribers) CHECK(subscriber->Next().topic() == "/containers/create");
  for (auto& subscriber : subscribers) {
    CHECK(subscriber->Cancel().error_code() == grpc::StatusCode::CANCELLED);
  }
  subscribers.clear();

  // contd still serves, and a new subscriber gets only new events.
  Subscriber after(channel, {});
  CheckOk(client.Delete("default", "web"));
  CHECK(after.Next().topic() == "/containers/delete");
  CHECK(after.Cancel().error_code() == grpc::StatusCode::CANCELLED);
}

TEST_CASE("containers survive a contd restart; shutdown ends event streams",
          "[contd][containers]") {
  TempDir dir("contd-containers-test");
  Container first;
  {
    ContdProcess contd(dir.path());
    std::shared_ptr<grpc::Channel> channel = contd.Connect();
    ContainersClient client(channel);
    CheckOk(client.Create("team-a", MakeContainer("web"), &first));
    CheckOk(client.Create("team-b", MakeContainer("web")));

    Subscriber subscriber(channel, {});
    const auto stop_started = std::chrono::steady_clock::now();
    const int wait_status = contd.Stop(SIGTERM);
    CHECK(WIFEXITED(wait_status));
    CHECK(WEXITSTATUS(wait_status) == 0);
    // The open stream does not hold shutdown up.
    // (gRPC's grace period for idle connections takes a second of that.)
    CHECK(std::chrono::steady_clock::now() - stop_started < std::chrono::seconds(3));
    CHECK(subscriber.Finish().error_code() == grpc::StatusCode::UNAVAILABLE);
  }

  ContdProcess contd(dir.path());
  ContainersClient client(contd.Connect());
  Container got;
  CheckOk(client.Get("team-a", "web", &got));
  CHECK(got.created_at() == first.created_at());
  CHECK(got.labels().at("tier") == "frontend");
  CHECK(client.List("team-b", {}) == std::vector<std::string>{"web"});
  CheckError(client.Create("team-a", MakeContainer("web")), grpc::StatusCode::ALREADY_EXISTS,
             "\"web\"");
  CHECK(WEXITSTATUS(contd.Stop(SIGTERM)) == 0);
}
