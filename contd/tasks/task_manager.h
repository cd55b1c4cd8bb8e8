// contd's side of tasks: one contd-shim per task, started on Create and
// reconnected after a contd restart. contd keeps no task state of its own on
// disk: the bundle directory and the shim are the record, so a contd killed
// at any instant finds, on restart, exactly what exists.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "contd/events/exchange.h"
#include "contd/metadata/container_store.h"
#include "contd/v1/tasks.pb.h"
#include "shim/v1/shim.pb.h"

namespace gantry::contd {

struct TaskManagerOptions {
  // contd's --state: bundles under tasks/<ns>/<id>, shim sockets under s/.
  std::string state;
  std::string shim_binary;
  // Default OCI runtime; a task's CreateTaskRequest.runtime_path overrides.
  std::string runtime_binary;
};

class TaskManager {
 public:
  TaskManager(TaskManagerOptions options, metadata::ContainerStore& containers,
              EventExchange& events);
  TaskManager(const TaskManager&) = delete;
  TaskManager& operator=(const TaskManager&) = delete;
  // Stops watching the shims; the shims and their containers keep running.
  ~TaskManager();

  // Reconnects to the shims an earlier contd left, and settles the tasks
  // whose shim died: their exit status is what the shim recorded on disk
  // (or 137, killed, when it recorded none) and their container, mounts and
  // cgroups are removed.
  void Recover();

  absl::StatusOr<v1::CreateTaskResponse> Create(const std::string& ns,
                                                const v1::CreateTaskRequest& request);
  absl::StatusOr<v1::StartTaskResponse> Start(const std::string& ns,
                                              const v1::StartTaskRequest& request);
  absl::StatusOr<v1::DeleteTaskResponse> Delete(const std::string& ns,
                                                const v1::DeleteTaskRequest& request);
  absl::StatusOr<v1::DeleteTaskResponse> DeleteProcess(const std::string& ns,
                                                       const v1::DeleteProcessRequest& request);
  absl::StatusOr<v1::GetTaskResponse> Get(const std::string& ns, const v1::GetTaskRequest& request);
  absl::StatusOr<v1::ListTasksResponse> List(const std::string& ns,
                                             const v1::ListTasksRequest& request);
  absl::Status Kill(const std::string& ns, const v1::KillTaskRequest& request);
  absl::Status Exec(const std::string& ns, const v1::ExecProcessRequest& request);
  absl::Status ResizePty(const std::string& ns, const v1::ResizePtyRequest& request);
  absl::Status CloseIO(const std::string& ns, const v1::CloseIORequest& request);
  absl::Status Pause(const std::string& ns, const v1::PauseTaskRequest& request);
  absl::Status Resume(const std::string& ns, const v1::ResumeTaskRequest& request);
  absl::StatusOr<v1::ListPidsResponse> ListPids(const std::string& ns,
                                                const v1::ListPidsRequest& request);
  absl::Status Update(const std::string& ns, const v1::UpdateTaskRequest& request);
  absl::StatusOr<v1::WaitTaskResponse> Wait(const std::string& ns,
                                            const v1::WaitTaskRequest& request);
  absl::StatusOr<v1::MetricsResponse> Metrics(const std::string& ns,
                                              const v1::MetricsRequest& request);

  // Whether a task exists for the container (a container with a task cannot
  // be deleted).
  bool HasTask(const std::string& ns, const std::string& id);

 private:
  struct Exit {
    uint32_t status = 0;
    absl::Time at;
  };
  struct Task;
  using TaskKey = std::pair<std::string, std::string>;  // namespace, id

  std::string BundleDir(const std::string& ns, const std::string& id) const;
  std::string SocketPath(const std::string& ns, const std::string& id) const;
  std::string RuntimeRoot(const std::string& ns) const;

  // The live (or dead-shim) task; NOT_FOUND when none.
  absl::StatusOr<std::shared_ptr<Task>> Find(const std::string& ns, const std::string& id);
  // Calls the task's shim; a shim that is gone is reported as the task's
  // honest state rather than as a transport error.
  absl::Status Call(Task& task, absl::string_view method,
                    const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response);
  void StartMonitor(const std::shared_ptr<Task>& task, uint64_t after);
  void Monitor(std::shared_ptr<Task> task, uint64_t after);
  // The shim is gone without a Delete: record the exit, clean up, and
  // publish the exit when there was a task.
  void SettleDeadShim(Task& task, bool had_task);
  // Asks the shim to exit and waits until it has.
  void StopShim(Task& task);
  void RemoveBundle(Task& task);
  void Publish(const std::string& ns, absl::string_view topic,
               const google::protobuf::Message& event);

  TaskManagerOptions options_;
  metadata::ContainerStore& containers_;
  EventExchange& events_;
  std::mutex mu_;
  std::map<TaskKey, std::shared_ptr<Task>> tasks_;
};

}  // namespace gantry::contd
