// The real contd binary serves its gRPC API on a private unix socket: health,
// Version, Introspection and server reflection answer; the socket is 0660;
// SIGTERM stops it cleanly and removes the socket.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/empty.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/unique_fd.h"
#include "contd/v1/introspection.grpc.pb.h"
#include "contd/v1/version.grpc.pb.h"

extern char** environ;

namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kCallTimeout = std::chrono::seconds(5);

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/contd-grpc-test.XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { (void)gantry::RemoveTree(path_); }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool Accepts(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  gantry::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

// A contd child process serving on <dir>/run/contd.sock; killed if the test
// ends without stopping it.
class ContdProcess {
 public:
  explicit ContdProcess(const std::string& dir) : socket_path_(dir + "/run/contd.sock") {
    std::vector<std::string> args = {GANTRY_BINARY_DIR "/contd/contd",
                                     "--root",
                                     dir + "/root",
                                     "--state",
                                     dir + "/state",
                                     "--address",
                                     socket_path_};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    REQUIRE(::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
  }
  ContdProcess(const ContdProcess&) = delete;
  ContdProcess& operator=(const ContdProcess&) = delete;
  ~ContdProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  const std::string& socket_path() const { return socket_path_; }

  // A channel to contd once it accepts connections.
  std::shared_ptr<grpc::Channel> Connect() const {
    // A failed first attempt would put the channel into gRPC's reconnect
    // backoff (a second or more), so wait until the socket accepts.
    const auto give_up = std::chrono::steady_clock::now() + kStartTimeout;
    while (!Accepts(socket_path_)) {
      REQUIRE(std::chrono::steady_clock::now() < give_up);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto channel = grpc::CreateChannel(absl::StrCat("unix:", socket_path_),
                                       grpc::InsecureChannelCredentials());
    REQUIRE(channel->WaitForConnected(std::chrono::system_clock::now() + kStartTimeout));
    return channel;
  }

  // Sends sig and returns the wait status once contd has exited.
  int Stop(int sig) {
    REQUIRE(::kill(pid_, sig) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    return status;
  }

 private:
  std::string socket_path_;
  pid_t pid_ = -1;
};

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
}

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
  return response.uuid();
}

}  // namespace

TEST_CASE("contd serves health, version and reflection on a 0660 socket", "[contd][grpc]") {
  TempDir dir;
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
  TempDir dir;
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
