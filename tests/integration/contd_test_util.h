// Runs the real contd binary in a private directory for integration tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

namespace gantry::testing {

inline constexpr auto kContdStartTimeout = std::chrono::seconds(10);
inline constexpr auto kContdCallTimeout = std::chrono::seconds(5);

// A contd child process with --root <dir>/root, --state <dir>/state, serving
// on <dir>/run/contd.sock; killed if the test ends without stopping it.
class ContdProcess {
 public:
  explicit ContdProcess(const std::string& dir);
  ContdProcess(const ContdProcess&) = delete;
  ContdProcess& operator=(const ContdProcess&) = delete;
  ~ContdProcess();

  const std::string& socket_path() const { return socket_path_; }
  pid_t pid() const { return pid_; }

  // A channel to contd once it accepts connections.
  std::shared_ptr<grpc::Channel> Connect() const;

  // Sends sig and returns the wait status once contd has exited.
  int Stop(int sig);

 private:
  std::string socket_path_;
  pid_t pid_ = -1;
};

// Whether a unix socket accepts connections.
bool Accepts(const std::string& socket_path);

void SetDeadline(grpc::ClientContext& context);

// A client context with a deadline, in namespace `ns` ("" sends no namespace
// metadata, which contd takes as "default").
std::unique_ptr<grpc::ClientContext> InNamespace(const std::string& ns);

}  // namespace gantry::testing
