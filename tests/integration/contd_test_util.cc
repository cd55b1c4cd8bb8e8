#include "tests/integration/contd_test_util.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"

extern char** environ;

namespace gantry::testing {

bool Accepts(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

ContdProcess::ContdProcess(const std::string& dir) : socket_path_(dir + "/run/contd.sock") {
  std::vector<std::string> args = {GANTRY_BINARY_DIR "/contd/contd",
                                   "--root",
                                   dir + "/root",
                                   "--state",
                                   dir + "/state",
                                   "--address",
                                   socket_path_,
                                   "--shim",
                                   GANTRY_BINARY_DIR "/shim/contd-shim",
                                   "--runtime",
                                   GANTRY_BINARY_DIR "/ocirun/ocirun"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  REQUIRE(::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
}

ContdProcess::~ContdProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::shared_ptr<grpc::Channel> ContdProcess::Connect() const {
  // A failed first attempt would put the channel into gRPC's reconnect
  // backoff (a second or more), so wait until the socket accepts.
  const auto give_up = std::chrono::steady_clock::now() + kContdStartTimeout;
  while (!Accepts(socket_path_)) {
    REQUIRE(std::chrono::steady_clock::now() < give_up);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto channel =
      grpc::CreateChannel(absl::StrCat("unix:", socket_path_), grpc::InsecureChannelCredentials());
  REQUIRE(channel->WaitForConnected(std::chrono::system_clock::now() + kContdStartTimeout));
  return channel;
}

int ContdProcess::Stop(int sig) {
  REQUIRE(::kill(pid_, sig) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid_, &status, 0) == pid_);
  pid_ = -1;
  return status;
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + kContdCallTimeout);
}

std::unique_ptr<grpc::ClientContext> InNamespace(const std::string& ns) {
  auto context = std::make_unique<grpc::ClientContext>();
  SetDeadline(*context);
  if (!ns.empty()) context->AddMetadata("containerd-namespace", ns);
  return context;
}

}  // namespace gantry::testing
