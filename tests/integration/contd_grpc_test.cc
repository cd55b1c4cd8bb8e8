// The real contd binary serves its gRPC API on a private unix socket: health,
// Version, Introspection and server reflection answer; the socket is 0660;
// SIGTERM stops it cleanly and removes the socket.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/empty.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/str_cat.h"
#include "contd/v1/introspection.grpc.pb.h"
#include "contd/v1/version.grpc.pb.h"
#include "tests/integration/contd_test_util.h"
#include "tests/temp_dir.h"

namespace {

using gantry::testing::ContdProcess;
using gantry::testing::SetDeadline;
using gantry::testing::TempDir;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// Calls a method this test has no generated stub for (grpc.health.v1 and
// grpc.reflection.v1alpha are not installed as .proto files): sends one
// request and returns the first response, both in protobuf wire format.
// Works for unary and streaming methods alike.
std::string CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                    const UnknownFieldSet& request) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  SetDeadline(context);
  auto await = [&queue] {
    void* tag = nullptr;
    bool ok = false;
    REQUIRE(queue.Next(&tag, &ok));
    return ok;
  };

  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, method, &queue);
  call->StartCall(nullptr);
  REQUIRE(await());

  std::string request_bytes;
  REQUIRE(request.SerializeToString(&request_bytes));
  grpc::Slice slice(request_bytes);
  call->Write(grpc::ByteBuffer(&slice, 1), nullptr);
  REQUIRE(await());
  call->WritesDone(nullptr);
  REQUIRE(await());

  grpc::ByteBuffer response;
  call->Read(&response, nullptr);
  const bool got_response = await();
  grpc::Status status;
  call->Finish(&status, nullptr);
  REQUIRE(await());
  queue.Shutdown();  // a completion queue must be drained before it is destroyed
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
  }
  INFO(method << ": " << status.error_message());
  REQUIRE(status.ok());
  REQUIRE(got_response);

  std::vector<grpc::Slice> slices;
  REQUIRE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

// UnknownFieldSet can be neither copied nor moved.
std::unique_ptr<UnknownFieldSet> Parse(const std::string& bytes) {
  auto fields = std::make_unique<UnknownFieldSet>();
  REQUIRE(fields->ParseFromString(bytes));
  return fields;
}

// grpc.health.v1.HealthCheckResponse.status for the whole server ("").
uint64_t HealthStatus(const std::shared_ptr<grpc::Channel>& channel) {
  UnknownFieldSet request;  // HealthCheckRequest{service: ""}
  auto response = Parse(CallRaw(channel, "/grpc.health.v1.Health/Check", request));
  for (int i = 0; i < response->field_count(); ++i) {
    if (response->field(i).number() == 1) return response->field(i).varint();
  }
  return 0;  // UNKNOWN: proto3 leaves zero values off the wire
}

// Names from grpc.reflection.v1alpha.ServerReflection's list_services.
std::set<std::string> ReflectedServices(const std::shared_ptr<grpc::Channel>& channel) {
  UnknownFieldSet request;
  request.AddLengthDelimited(7, "*");  // ServerReflectionRequest.list_services
  auto response = Parse(
      CallRaw(channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", request));
  std::set<std::string> names;
  for (int i = 0; i < response->field_count(); ++i) {
    const UnknownField& field = response->field(i);
    if (field.number() != 6) continue;  // ServerReflectionResponse.list_services_response
    auto list = Parse(field.length_delimited());
    for (int j = 0; j < list->field_count(); ++j) {
      if (list->field(j).number() != 1) continue;  // ListServiceResponse.service
      auto service = Parse(list->field(j).length_delimited());
      for (int k = 0; k < service->field_count(); ++k) {
        if (service->field(k).number() == 1) names.insert(service->field(k).length_delimited());
      }
    }
  }
  return names;
}

std::string ServerUuid(const std::shared_ptr<grpc::Channel>& channel) {
  auto introspection = gantry::contd::v1::Introspection::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(context);
  gantry::contd::v1::ServerResponse response;
  grpc::Status status = introspection->Server(&context, google::protobuf::Empty(), &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(response.started_at().seconds() > 0);
  CHECK(response.uptime().seconds() >= 0);
  CHECK(response.uptime().nanos() >= 0);
  return response.uuid();
}

}  // namespace

TEST_CASE("contd serves health, version and reflection on a 0660 socket", "[contd][grpc]") {
  TempDir dir("contd-grpc-test");
  ContdProcess contd(dir.path());
  std::shared_ptr<grpc::Channel> channel = contd.Connect();

  constexpr uint64_t kServing = 1;
  CHECK(HealthStatus(channel) == kServing);

  auto version = gantry::contd::v1::Version::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(context);
  gantry::contd::v1::VersionResponse response;
  grpc::Status status = version->Version(&context, google::protobuf::Empty(), &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(response.version() == "0.1.0");

  std::set<std::string> services = ReflectedServices(channel);
  CHECK(services.count("gantry.contd.v1.Version") == 1);
  CHECK(services.count("gantry.contd.v1.Introspection") == 1);
  CHECK(services.count("gantry.contd.v1.Containers") == 1);
  CHECK(services.count("gantry.contd.v1.Events") == 1);
  CHECK(services.count("grpc.health.v1.Health") == 1);

  struct stat st;
  REQUIRE(::stat(contd.socket_path().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0660);

  int wait_status = contd.Stop(SIGTERM);
  CHECK(WIFEXITED(wait_status));
  CHECK(WEXITSTATUS(wait_status) == 0);
  CHECK(::access(contd.socket_path().c_str(), F_OK) != 0);
}

TEST_CASE("contd keeps its server uuid across restarts and replaces a stale socket",
          "[contd][grpc]") {
  TempDir dir("contd-grpc-test");
  std::string first_uuid;
  {
    ContdProcess contd(dir.path());
    first_uuid = ServerUuid(contd.Connect());
    CHECK(first_uuid.size() == 36);
    // SIGKILL leaves the socket file behind, as a crash would.
    int wait_status = contd.Stop(SIGKILL);
    CHECK(WIFSIGNALED(wait_status));
    CHECK(::access(contd.socket_path().c_str(), F_OK) == 0);
  }

  ContdProcess contd(dir.path());
  CHECK(ServerUuid(contd.Connect()) == first_uuid);
  CHECK(WEXITSTATUS(contd.Stop(SIGINT)) == 0);
}

TEST_CASE("contd introspection lists its services and reports uptime", "[contd][grpc]") {
  TempDir dir("contd-grpc-test");
  ContdProcess contd(dir.path());
  auto introspection = gantry::contd::v1::Introspection::NewStub(contd.Connect());

  gantry::contd::v1::PluginsRequest all;
  gantry::contd::v1::PluginsResponse plugins;
  {
    grpc::ClientContext context;
    SetDeadline(context);
    REQUIRE(introspection->Plugins(&context, all, &plugins).ok());
  }
  std::set<std::string> names;
  for (const auto& plugin : plugins.plugins()) names.insert(plugin.type() + "/" + plugin.id());
  CHECK(names.count("gantry.grpc.v1/containers") == 1);
  CHECK(names.count("gantry.grpc.v1/events") == 1);
  CHECK(names.count("gantry.grpc.v1/introspection") == 1);
  CHECK(names.count("gantry.grpc.v1/version") == 1);
  CHECK(names.count("gantry.metadata.v1/sqlite") == 1);

  gantry::contd::v1::PluginsRequest metadata_only;
  metadata_only.add_filters("type==gantry.metadata.v1");
  gantry::contd::v1::PluginsResponse filtered;
  {
    grpc::ClientContext context;
    SetDeadline(context);
    REQUIRE(introspection->Plugins(&context, metadata_only, &filtered).ok());
  }
  REQUIRE(filtered.plugins_size() == 1);
  CHECK(filtered.plugins(0).exports().at("path") == dir.path() + "/root/metadata.db");

  // Uptime grows while contd runs.
  auto uptime_ms = [&] {
    grpc::ClientContext context;
    SetDeadline(context);
    gantry::contd::v1::ServerResponse response;
    REQUIRE(introspection->Server(&context, google::protobuf::Empty(), &response).ok());
    return response.uptime().seconds() * 1000 + response.uptime().nanos() / 1000000;
  };
  const int64_t first = uptime_ms();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(uptime_ms() >= first + 50);
}
