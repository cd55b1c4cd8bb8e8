// The shim's Task service (proto/shim/v1): one container's init process and
// its exec processes, driven through the OCI runtime's command line. Runs on
// the shim's event loop; nothing here blocks except short runtime calls.
#pragma once

#include <sys/types.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/json_log.h"
#include "common/runtime_cli.h"
#include "shim/event_loop.h"
#include "shim/oom_watcher.h"
#include "shim/stdio.h"
#include "shim/ttrpc_server.h"
#include "shim/v1/shim.pb.h"

namespace gantry::shim {

inline constexpr char kTaskService[] = "gantry.shim.v1.Task";
// Where the init process's exit is recorded in the bundle, durably, the
// moment it is reaped: a contd that finds the shim gone still learns it.
inline constexpr char kExitFile[] = "exit.json";

struct TaskOptions {
  std::string id;
  std::string bundle;
  // Socket the shim serves on; terminal processes' console sockets go beside.
  std::string socket_path;
};

class TaskService {
 public:
  TaskService(EventLoop& loop, TaskOptions options, OciRuntime runtime);
  ~TaskService();

  void Dispatch(const ttrpc::Request& request, Responder responder);
  // A child (the container's init, an exec, or an orphan) was reaped.
  void OnChildExited(pid_t pid, int wait_status);
  // SIGTERM/SIGINT: the shim exits only when none of its processes runs,
  // since exiting would cut a running container's stdio and log.
  void OnStopSignal();

 private:
  struct ExitRecord {
    uint32_t status = 0;
    absl::Time at;
  };
  struct Process {
    std::string exec_id;
    pid_t pid = 0;
    contd::v1::TaskStatus status = contd::v1::TASK_STATUS_CREATED;
    StdioPaths paths;
    std::unique_ptr<ProcessStdio> stdio;
    std::optional<ExitRecord> exit;
    std::vector<Responder> waiters;
    std::string spec_path;  // exec processes: their process.json
  };

  absl::StatusOr<v1::CreateTaskResponse> Create(const v1::CreateTaskRequest& request);
  absl::StatusOr<v1::StartResponse> Start(const v1::StartRequest& request);
  absl::StatusOr<v1::DeleteResponse> Delete(const v1::DeleteRequest& request);
  absl::StatusOr<v1::StateResponse> State(const v1::StateRequest& request);
  absl::StatusOr<v1::PidsResponse> Pids(const v1::PidsRequest& request);
  absl::StatusOr<google::protobuf::Empty> Pause(const v1::PauseRequest& request);
  absl::StatusOr<google::protobuf::Empty> Resume(const v1::ResumeRequest& request);
  absl::StatusOr<google::protobuf::Empty> Kill(const v1::KillRequest& request);
  absl::StatusOr<google::protobuf::Empty> Exec(const v1::ExecProcessRequest& request);
  absl::StatusOr<google::protobuf::Empty> ResizePty(const v1::ResizePtyRequest& request);
  absl::StatusOr<google::protobuf::Empty> CloseIO(const v1::CloseIORequest& request);
  absl::StatusOr<google::protobuf::Empty> Update(const v1::UpdateTaskRequest& request);
  absl::StatusOr<v1::StatsResponse> Stats(const v1::StatsRequest& request);
  absl::StatusOr<v1::ConnectResponse> Connect(const v1::ConnectRequest& request);
  absl::StatusOr<google::protobuf::Empty> Shutdown(const v1::ShutdownRequest& request);
  void Wait(const v1::WaitRequest& request, Responder responder);
  void Events(const v1::EventsRequest& request, Responder responder);
  // Stops the loop: the shim exits.
  void Terminate();

  absl::StatusOr<Process*> Find(const std::string& id, const std::string& exec_id);
  // Runs `create` or `exec`, wiring the process's stdio (and its console).
  absl::Status RunWithStdio(Process& process, std::vector<std::string> args);
  absl::Status MountRootfs(const v1::CreateTaskRequest& request);
  void UnmountRootfs();
  void RecordExit(Process& process, int wait_status);
  void Publish(v1::ShimEvent event);
  std::string BundlePath(absl::string_view name) const;

  EventLoop& loop_;
  TaskOptions options_;
  OciRuntime runtime_;
  std::optional<JsonLogWriter> log_;
  // "" is the init process.
  std::map<std::string, std::unique_ptr<Process>> processes_;
  std::unique_ptr<OomWatcher> oom_watcher_;
  bool rootfs_mounted_ = false;
  bool deleted_ = false;
  // Recent events for contd's long poll, and the polls waiting for one.
  std::deque<v1::ShimEvent> events_;
  uint64_t last_seq_ = 0;
  std::vector<std::pair<uint64_t, Responder>> event_waiters_;
};

}  // namespace gantry::shim
