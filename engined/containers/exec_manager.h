// Processes run in a running container (docker exec): created with their
// command and stdio, started with a client attached (or detached), their
// exit code kept for inspect, as dockerd's exec store.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "common/thread_group.h"
#include "engined/containers/container_io.h"
#include "engined/containers/container_manager.h"
#include "engined/contd/contd_client.h"

namespace gantry::engined {

class ExecManager {
 public:
  ExecManager(ContdClient& contd, ContainerManager& containers, std::string exec_root)
      : contd_(contd), containers_(containers), exec_root_(std::move(exec_root)) {}
  ~ExecManager();
  ExecManager(const ExecManager&) = delete;
  ExecManager& operator=(const ExecManager&) = delete;

  // POST /containers/{id}/exec: the exec's ID. `config` is Docker's
  // ExecConfig (Cmd, Env, WorkingDir, User, Tty, Privileged, Attach*).
  absl::StatusOr<std::string> Create(const std::string& container_ref,
                                     const nlohmann::json& config);

  // Starts the process; `sink` gets its output and `on_end` runs once it
  // has exited and all output was delivered (detached: both empty). The
  // exit code is recorded before `on_end` runs.
  absl::Status Start(const std::string& exec_id, ContainerIo::Sink sink,
                     std::function<void()> on_end);
  absl::Status WriteStdin(const std::string& exec_id, absl::string_view data);
  absl::Status StdinEnded(const std::string& exec_id);
  absl::Status Resize(const std::string& exec_id, uint32_t height, uint32_t width);
  // Signals the exec's process (a health probe past its timeout).
  absl::Status Kill(const std::string& exec_id, int signal);
  // GET /exec/{id}/json.
  absl::StatusOr<nlohmann::json> Inspect(const std::string& exec_id);
  // Ends attached clients (engined is stopping).
  void Shutdown();

 private:
  struct Exec {
    std::string id;
    std::string container_id;
    nlohmann::json config;
    bool running = false;
    bool started = false;
    int exit_code = 0;
    bool exited = false;
    int pid = 0;
    std::unique_ptr<ContainerIo> io;
    std::unique_ptr<grpc::ClientContext> wait_context;
  };

  absl::StatusOr<std::shared_ptr<Exec>> Find(const std::string& exec_id);
  void Monitor(std::shared_ptr<Exec> exec);

  ContdClient& contd_;
  ContainerManager& containers_;
  const std::string exec_root_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Exec>> execs_;
  ThreadGroup threads_;  // exit monitors
  bool shutting_down_ = false;
};

}  // namespace gantry::engined
