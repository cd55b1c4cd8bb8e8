#include "contd/tasks/task_manager.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/digest.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/malloc_tuning.h"
#include "common/proto_time.h"
#include "common/runtime_cli.h"
#include "common/ttrpc.h"
#include "contd/events/topics.h"
#include "contd/filters.h"
#include "contd/tasks/shim_launcher.h"
#include "contd/v1/event_types.pb.h"
#include "nlohmann/json.hpp"
#include "ocirun/lib/spec.h"

namespace gantry::contd {
namespace {

namespace shimv1 = gantry::shim::v1;

// The status containerd gives a task whose shim died without recording one:
// as if SIGKILLed, which is what cleaning up does to whatever was left.
constexpr uint32_t kDeadShimExitStatus = 128 + SIGKILL;

bool ProcessExists(pid_t pid) {
  if (pid <= 0) return false;
  // A zombie (an exited shim nobody reaped yet) no longer counts.
  absl::StatusOr<std::string> stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return false;
  const size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] != 'Z';
}

v1::Process ToProcess(const std::string& container_id, const shimv1::StateResponse& state) {
  v1::Process process;
  process.set_container_id(container_id);
  process.set_exec_id(state.exec_id());
  process.set_pid(state.pid());
  process.set_status(state.status());
  process.set_stdin(state.stdin());
  process.set_stdout(state.stdout());
  process.set_stderr(state.stderr());
  process.set_terminal(state.terminal());
  process.set_exit_status(state.exit_status());
  *process.mutable_exited_at() = state.exited_at();
  return process;
}

}  // namespace

struct TaskManager::Task {
  std::string ns;
  std::string id;
  std::string bundle;
  std::string socket;
  std::string runtime_binary;
  pid_t shim_pid = 0;
  uint32_t pid = 0;

  std::mutex mu;
  std::condition_variable changed;
  // Set once the shim died without the task being deleted.
  std::optional<Exit> dead;
  // Set when contd itself stops the shim (Delete, failed Create, shutdown).
  bool stopping = false;
  std::unique_ptr<ttrpc::Client> events_client;
  std::thread monitor;
};

TaskManager::TaskManager(TaskManagerOptions options, metadata::ContainerStore& containers,
                         EventExchange& events)
    : options_(std::move(options)), containers_(containers), events_(events) {}

TaskManager::~TaskManager() {
  std::map<TaskKey, std::shared_ptr<Task>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(tasks_);
  }
  for (auto& [key, task] : tasks) {
    {
      std::lock_guard lock(task->mu);
      task->stopping = true;
      if (task->events_client) task->events_client->Interrupt();
    }
    if (task->monitor.joinable()) task->monitor.join();
  }
}

std::string TaskManager::BundleDir(const std::string& ns, const std::string& id) const {
  return absl::StrCat(options_.state, "/tasks/", ns, "/", id);
}

std::string TaskManager::SocketPath(const std::string& ns, const std::string& id) const {
  // Hashed: a unix socket path must fit in 108 bytes, ids may be 76 long.
  return absl::StrCat(options_.state, "/s/", Sha256Hex(absl::StrCat(ns, "/", id)).substr(0, 32));
}

std::string TaskManager::RuntimeRoot(const std::string& ns) const {
  return absl::StrCat(options_.state, "/runtime/", ns);
}

void TaskManager::Publish(const std::string& ns, absl::string_view topic,
                          const google::protobuf::Message& event) {
  if (absl::Status published = events_.Publish(ns, topic, event); !published.ok()) {
    log::Warning("contd: publish ", topic, ": ", published.message());
  }
}

absl::StatusOr<std::shared_ptr<TaskManager::Task>> TaskManager::Find(const std::string& ns,
                                                                     const std::string& id) {
  std::lock_guard lock(mu_);
  auto found = tasks_.find({ns, id});
  if (found == tasks_.end()) {
    return absl::NotFoundError(absl::StrCat("task ", id, ": not found in namespace ", ns));
  }
  return found->second;
}

bool TaskManager::HasTask(const std::string& ns, const std::string& id) {
  std::lock_guard lock(mu_);
  return tasks_.count({ns, id}) > 0;
}

absl::Status TaskManager::Call(Task& task, absl::string_view method,
                               const google::protobuf::MessageLite& request,
                               google::protobuf::MessageLite* response) {
  {
    std::lock_guard lock(task.mu);
    if (task.dead) {
      return absl::FailedPreconditionError(
          absl::StrCat("task ", task.id, ": its shim has exited; the task is stopped"));
    }
  }
  absl::Status status = CallShim(task.socket, method, request, response);
  if (status.code() == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(absl::StrCat("task ", task.id, ": shim: ", status.message()));
  }
  return status;
}

absl::StatusOr<v1::CreateTaskResponse> TaskManager::Create(const std::string& ns,
                                                           const v1::CreateTaskRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(v1::Container container, containers_.Get(ns, request.container_id()));
  // Checked as the runtime will check it, so a bad spec is the caller's
  // INVALID_ARGUMENT naming the field, before any shim starts.
  nlohmann::json spec = nlohmann::json::parse(container.spec().value(), nullptr, false);
  if (!spec.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("container ", container.id(), ": spec: not an OCI runtime spec JSON object"));
  }
  if (absl::StatusOr<ocirun::Spec> parsed = ocirun::ParseSpec(spec); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("container ", container.id(), ": spec: ", parsed.status().message()));
  }
  auto task = std::make_shared<Task>();
  task->ns = ns;
  task->id = container.id();
  task->bundle = BundleDir(ns, task->id);
  task->socket = SocketPath(ns, task->id);
  task->runtime_binary =
      request.runtime_path().empty() ? options_.runtime_binary : request.runtime_path();
  {
    // Reserved while being created, so a concurrent Create sees it.
    std::lock_guard lock(mu_);
    if (!tasks_.emplace(TaskKey{ns, task->id}, task).second) {
      return absl::AlreadyExistsError(absl::StrCat("task ", task->id, ": already exists"));
    }
  }
  auto fail = [&](const absl::Status& status) {
    StopShim(*task);
    RemoveBundle(*task);
    std::lock_guard lock(mu_);
    tasks_.erase({ns, task->id});
    return status;
  };

  // A leftover of a contd killed mid-create is replaced.
  RemoveTree(task->bundle).IgnoreError();
  if (absl::Status made = MakeDirs(task->bundle, 0711); !made.ok()) return fail(made);
  if (absl::Status made = MakeDirs(absl::StrCat(options_.state, "/s"), 0700); !made.ok()) {
    return fail(made);
  }
  if (absl::Status made = MakeDirs(RuntimeRoot(ns), 0700); !made.ok()) return fail(made);
  if (absl::Status written = WriteFileAtomic(absl::StrCat(task->bundle, "/config.json"),
                                             spec.dump(), 0600, Durability::kVolatile);
      !written.ok()) {
    return fail(written);
  }
  if (absl::Status launched =
          LaunchShim({options_.shim_binary, task->runtime_binary, RuntimeRoot(ns), ns, task->id,
                      task->bundle, task->socket});
      !launched.ok()) {
    return fail(launched);
  }
  shimv1::ConnectResponse connected;
  if (absl::Status status = CallShim(task->socket, "Connect", shimv1::ConnectRequest(), &connected);
      !status.ok()) {
    return fail(status);
  }
  task->shim_pid = static_cast<pid_t>(connected.shim_pid());

  shimv1::CreateTaskRequest create;
  create.set_id(task->id);
  create.set_bundle(task->bundle);
  *create.mutable_rootfs() = request.rootfs();
  create.set_terminal(request.terminal());
  create.set_stdin(request.stdin());
  create.set_stdout(request.stdout());
  create.set_stderr(request.stderr());
  *create.mutable_log() = request.log();
  if (request.has_checkpoint()) create.set_checkpoint(request.checkpoint().digest());
  shimv1::CreateTaskResponse created;
  if (absl::Status status = CallShim(task->socket, "Create", create, &created); !status.ok()) {
    return fail(Annotate(status, absl::StrCat("task ", task->id)));
  }
  task->pid = created.pid();
  StartMonitor(task, 0);

  v1::TaskCreate event;
  event.set_container_id(task->id);
  event.set_bundle(task->bundle);
  *event.mutable_rootfs() = request.rootfs();
  event.mutable_io()->set_stdin(request.stdin());
  event.mutable_io()->set_stdout(request.stdout());
  event.mutable_io()->set_stderr(request.stderr());
  event.mutable_io()->set_terminal(request.terminal());
  event.set_pid(task->pid);
  Publish(ns, topics::kTaskCreate, event);

  v1::CreateTaskResponse response;
  response.set_container_id(task->id);
  response.set_pid(task->pid);
  return response;
}

void TaskManager::StartMonitor(const std::shared_ptr<Task>& task, uint64_t after) {
  task->monitor = std::thread(&TaskManager::Monitor, this, task, after);
}

void TaskManager::Monitor(std::shared_ptr<Task> task, uint64_t after) {
  while (true) {
    absl::StatusOr<ttrpc::Client> client = ttrpc::Client::Connect(task->socket);
    {
      std::lock_guard lock(task->mu);
      if (task->stopping) return;
      if (client.ok()) task->events_client = std::make_unique<ttrpc::Client>(std::move(*client));
    }
    absl::Status polled = client.status();
    while (polled.ok()) {
      shimv1::EventsRequest request;
      request.set_after(after);
      shimv1::EventsResponse response;
      polled = task->events_client->Call("gantry.shim.v1.Task", "Events", request, &response);
      for (const shimv1::ShimEvent& event : response.events()) {
        after = std::max(after, event.seq());
        if (event.kind() == shimv1::ShimEvent::KIND_EXIT) {
          v1::TaskExit exit;
          exit.set_container_id(task->id);
          exit.set_id(event.exec_id().empty() ? task->id : event.exec_id());
          exit.set_pid(event.pid());
          exit.set_exit_status(event.exit_status());
          *exit.mutable_exited_at() = event.exited_at();
          Publish(task->ns, topics::kTaskExit, exit);
        } else if (event.kind() == shimv1::ShimEvent::KIND_OOM) {
          v1::TaskOOM oom;
          oom.set_container_id(task->id);
          Publish(task->ns, topics::kTaskOOM, oom);
        }
      }
    }
    {
      std::lock_guard lock(task->mu);
      task->events_client.reset();
      if (task->stopping) return;
    }
    // The connection broke: either the shim is gone, or it was a hiccup.
    if (!ProcessExists(task->shim_pid)) {
      SettleDeadShim(*task, /*had_task=*/true);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void TaskManager::SettleDeadShim(Task& task, bool had_task) {
  Exit exit{kDeadShimExitStatus, absl::Now()};
  if (absl::StatusOr<std::string> recorded = ReadFile(absl::StrCat(task.bundle, "/exit.json"));
      recorded.ok()) {
    nlohmann::json record = nlohmann::json::parse(*recorded, nullptr, false);
    absl::Time at;
    std::string error;
    if (record.is_object() && record["exit_status"].is_number_unsigned() &&
        absl::ParseTime(absl::RFC3339_full, record.value("exited_at", ""), &at, &error)) {
      exit = Exit{record["exit_status"].get<uint32_t>(), at};
    }
  }
  log::Warning("contd: shim of task ", task.id, " (namespace ", task.ns,
               ") is gone; the task is stopped with status ", exit.status);
  // Whatever the shim left: the container (killed), its cgroups, its state.
  OciRuntime runtime(task.runtime_binary, RuntimeRoot(task.ns),
                     absl::StrCat(task.bundle, "/runtime.log"));
  if (absl::Status deleted = runtime.Run({"delete", "--force", task.id}); !deleted.ok()) {
    log::Info("contd: ", deleted.message());  // the runtime never created it
  }
  UnmountAll(absl::StrCat(task.bundle, "/rootfs"));
  ::unlink(task.socket.c_str());
  {
    std::lock_guard lock(task.mu);
    task.dead = exit;
  }
  task.changed.notify_all();
  if (!had_task) return;
  v1::TaskExit event;
  event.set_container_id(task.id);
  event.set_id(task.id);
  event.set_pid(task.pid);
  event.set_exit_status(exit.status);
  *event.mutable_exited_at() = TimeToProto(exit.at);
  Publish(task.ns, topics::kTaskExit, event);
}

void TaskManager::StopShim(Task& task) {
  {
    std::lock_guard lock(task.mu);
    task.stopping = true;
    if (task.events_client) task.events_client->Interrupt();
  }
  if (task.monitor.joinable() && task.monitor.get_id() != std::this_thread::get_id()) {
    task.monitor.join();
  }
  shimv1::ShutdownRequest shutdown;
  shutdown.set_id(task.id);
  shutdown.set_now(true);
  google::protobuf::Empty empty;
  CallShim(task.socket, "Shutdown", shutdown, &empty, absl::Seconds(5)).IgnoreError();
  // The shim is not our child: wait for it to be gone (it removes its
  // socket and pid file on the way out).
  for (int i = 0; i < 500 && ProcessExists(task.shim_pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void TaskManager::RemoveBundle(Task& task) {
  UnmountAll(absl::StrCat(task.bundle, "/rootfs"));
  if (absl::Status removed = RemoveTree(task.bundle); !removed.ok()) {
    log::Warning("contd: ", removed.message());
  }
}

absl::StatusOr<v1::StartTaskResponse> TaskManager::Start(const std::string& ns,
                                                         const v1::StartTaskRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  shimv1::StartRequest start;
  start.set_id(task->id);
  start.set_exec_id(request.exec_id());
  shimv1::StartResponse started;
  GANTRY_RETURN_IF_ERROR(Call(*task, "Start", start, &started));
  if (request.exec_id().empty()) {
    v1::TaskStart event;
    event.set_container_id(task->id);
    event.set_pid(started.pid());
    Publish(ns, topics::kTaskStart, event);
  } else {
    v1::TaskExecStarted event;
    event.set_container_id(task->id);
    event.set_exec_id(request.exec_id());
    event.set_pid(started.pid());
    Publish(ns, topics::kTaskExecStarted, event);
  }
  v1::StartTaskResponse response;
  response.set_pid(started.pid());
  return response;
}

absl::StatusOr<v1::DeleteTaskResponse> TaskManager::Delete(const std::string& ns,
                                                           const v1::DeleteTaskRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  v1::DeleteTaskResponse response;
  response.set_id(task->id);
  response.set_pid(task->pid);
  std::optional<Exit> dead;
  {
    std::lock_guard lock(task->mu);
    dead = task->dead;
  }
  if (dead) {
    response.set_exit_status(dead->status);
    *response.mutable_exited_at() = TimeToProto(dead->at);
  } else {
    shimv1::DeleteRequest remove;
    remove.set_id(task->id);
    shimv1::DeleteResponse removed;
    GANTRY_RETURN_IF_ERROR(Call(*task, "Delete", remove, &removed));
    response.set_exit_status(removed.exit_status());
    *response.mutable_exited_at() = removed.exited_at();
    StopShim(*task);
  }
  if (task->monitor.joinable()) task->monitor.join();
  RemoveBundle(*task);
  bool none_left = false;
  {
    std::lock_guard lock(mu_);
    tasks_.erase({ns, task->id});
    none_left = tasks_.empty();
  }
  if (none_left) ReleaseFreeMemory();  // a burst of tasks is over
  v1::TaskDelete event;
  event.set_container_id(task->id);
  event.set_id(task->id);
  event.set_pid(response.pid());
  event.set_exit_status(response.exit_status());
  *event.mutable_exited_at() = response.exited_at();
  Publish(ns, topics::kTaskDelete, event);
  return response;
}

absl::StatusOr<v1::DeleteTaskResponse> TaskManager::DeleteProcess(
    const std::string& ns, const v1::DeleteProcessRequest& request) {
  if (request.exec_id().empty()) return absl::InvalidArgumentError("exec_id: must not be empty");
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  shimv1::DeleteRequest remove;
  remove.set_id(task->id);
  remove.set_exec_id(request.exec_id());
  shimv1::DeleteResponse removed;
  GANTRY_RETURN_IF_ERROR(Call(*task, "Delete", remove, &removed));
  v1::DeleteTaskResponse response;
  response.set_id(request.exec_id());
  response.set_pid(removed.pid());
  response.set_exit_status(removed.exit_status());
  *response.mutable_exited_at() = removed.exited_at();
  v1::TaskDelete event;
  event.set_container_id(task->id);
  event.set_id(request.exec_id());
  event.set_pid(removed.pid());
  event.set_exit_status(removed.exit_status());
  *event.mutable_exited_at() = removed.exited_at();
  Publish(ns, topics::kTaskDelete, event);
  return response;
}

absl::StatusOr<v1::GetTaskResponse> TaskManager::Get(const std::string& ns,
                                                     const v1::GetTaskRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  v1::GetTaskResponse response;
  {
    std::lock_guard lock(task->mu);
    if (task->dead) {
      if (!request.exec_id().empty()) {
        return absl::NotFoundError(absl::StrCat("exec ", request.exec_id(), ": not found"));
      }
      v1::Process* process = response.mutable_process();
      process->set_container_id(task->id);
      process->set_pid(task->pid);
      process->set_status(v1::TASK_STATUS_STOPPED);
      process->set_exit_status(task->dead->status);
      *process->mutable_exited_at() = TimeToProto(task->dead->at);
      return response;
    }
  }
  shimv1::StateRequest state_request;
  state_request.set_id(task->id);
  state_request.set_exec_id(request.exec_id());
  shimv1::StateResponse state;
  GANTRY_RETURN_IF_ERROR(Call(*task, "State", state_request, &state));
  *response.mutable_process() = ToProcess(task->id, state);
  return response;
}

absl::StatusOr<v1::ListTasksResponse> TaskManager::List(const std::string& ns,
                                                        const v1::ListTasksRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(request.filter()));
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, task] : tasks_) {
      if (key.first == ns && task->pid != 0) ids.push_back(key.second);
    }
  }
  v1::ListTasksResponse response;
  for (const std::string& id : ids) {
    v1::GetTaskRequest get;
    get.set_container_id(id);
    absl::StatusOr<v1::GetTaskResponse> task = Get(ns, get);
    if (!task.ok()) continue;  // deleted meanwhile
    const v1::Process& process = task->process();
    const bool match =
        filter.Match([&](const std::vector<std::string>& path) -> std::optional<std::string> {
          if (path.size() != 1) return std::nullopt;
          if (path[0] == "id" || path[0] == "container_id") return process.container_id();
          if (path[0] == "pid") return std::to_string(process.pid());
          if (path[0] == "status") {
            return absl::AsciiStrToLower(
                absl::StripPrefix(v1::TaskStatus_Name(process.status()), "TASK_STATUS_"));
          }
          return std::nullopt;
        });
    if (match) *response.add_tasks() = process;
  }
  return response;
}

absl::Status TaskManager::Kill(const std::string& ns, const v1::KillTaskRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  shimv1::KillRequest kill;
  kill.set_id(task->id);
  kill.set_exec_id(request.exec_id());
  kill.set_signal(request.signal());
  kill.set_all(request.all());
  google::protobuf::Empty empty;
  return Call(*task, "Kill", kill, &empty);
}

absl::Status TaskManager::Exec(const std::string& ns, const v1::ExecProcessRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  nlohmann::json process = nlohmann::json::parse(request.spec().value(), nullptr, false);
  if (absl::StatusOr<ocirun::Process> parsed = ocirun::ParseProcess(process, "spec");
      !parsed.ok()) {
    return absl::InvalidArgumentError(parsed.status().message());
  }
  shimv1::ExecProcessRequest exec;
  exec.set_id(task->id);
  exec.set_exec_id(request.exec_id());
  exec.set_terminal(request.terminal());
  exec.set_stdin(request.stdin());
  exec.set_stdout(request.stdout());
  exec.set_stderr(request.stderr());
  *exec.mutable_spec() = request.spec();
  google::protobuf::Empty empty;
  GANTRY_RETURN_IF_ERROR(Call(*task, "Exec", exec, &empty));
  v1::TaskExecAdded event;
  event.set_container_id(task->id);
  event.set_exec_id(request.exec_id());
  Publish(ns, topics::kTaskExecAdded, event);
  return absl::OkStatus();
}

absl::Status TaskManager::ResizePty(const std::string& ns, const v1::ResizePtyRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  shimv1::ResizePtyRequest resize;
  resize.set_id(task->id);
  resize.set_exec_id(request.exec_id());
  resize.set_width(request.width());
  resize.set_height(request.height());
  google::protobuf::Empty empty;
  return Call(*task, "ResizePty", resize, &empty);
}

absl::Status TaskManager::CloseIO(const std::string& ns, const v1::CloseIORequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  shimv1::CloseIORequest close;
  close.set_id(task->id);
  close.set_exec_id(request.exec_id());
  close.set_stdin(request.stdin());
  google::protobuf::Empty empty;
  return Call(*task, "CloseIO", close, &empty);
}

absl::Status TaskManager::Pause(const std::string& ns, const v1::PauseTaskRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  shimv1::PauseRequest pause;
  pause.set_id(task->id);
  google::protobuf::Empty empty;
  GANTRY_RETURN_IF_ERROR(Call(*task, "Pause", pause, &empty));
  v1::TaskPaused event;
  event.set_container_id(task->id);
  Publish(ns, topics::kTaskPaused, event);
  return absl::OkStatus();
}

absl::Status TaskManager::Resume(const std::string& ns, const v1::ResumeTaskRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  shimv1::ResumeRequest resume;
  resume.set_id(task->id);
  google::protobuf::Empty empty;
  GANTRY_RETURN_IF_ERROR(Call(*task, "Resume", resume, &empty));
  v1::TaskResumed event;
  event.set_container_id(task->id);
  Publish(ns, topics::kTaskResumed, event);
  return absl::OkStatus();
}

absl::StatusOr<v1::ListPidsResponse> TaskManager::ListPids(const std::string& ns,
                                                           const v1::ListPidsRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  shimv1::PidsRequest pids;
  pids.set_id(task->id);
  shimv1::PidsResponse listed;
  GANTRY_RETURN_IF_ERROR(Call(*task, "Pids", pids, &listed));
  v1::ListPidsResponse response;
  *response.mutable_processes() = listed.processes();
  return response;
}

absl::Status TaskManager::Update(const std::string& ns, const v1::UpdateTaskRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  nlohmann::json resources = nlohmann::json::parse(request.resources().value(), nullptr, false);
  if (absl::StatusOr<ocirun::Resources> parsed = ocirun::ParseResources(resources, "resources");
      !parsed.ok()) {
    return absl::InvalidArgumentError(parsed.status().message());
  }
  shimv1::UpdateTaskRequest update;
  update.set_id(task->id);
  *update.mutable_resources() = request.resources();
  *update.mutable_annotations() = request.annotations();
  google::protobuf::Empty empty;
  return Call(*task, "Update", update, &empty);
}

absl::StatusOr<v1::WaitTaskResponse> TaskManager::Wait(const std::string& ns,
                                                       const v1::WaitTaskRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Find(ns, request.container_id()));
  shimv1::WaitRequest wait;
  wait.set_id(task->id);
  wait.set_exec_id(request.exec_id());
  shimv1::WaitResponse waited;
  absl::Status status = Call(*task, "Wait", wait, &waited);
  if (!status.ok() && request.exec_id().empty()) {
    // The shim died during the wait (or before): its monitor settles the
    // task with the exit the shim recorded; report that.
    std::unique_lock lock(task->mu);
    if (task->changed.wait_for(lock, std::chrono::seconds(10),
                               [&] { return task->dead.has_value(); })) {
      v1::WaitTaskResponse response;
      response.set_exit_status(task->dead->status);
      *response.mutable_exited_at() = TimeToProto(task->dead->at);
      return response;
    }
  }
  GANTRY_RETURN_IF_ERROR(status);
  v1::WaitTaskResponse response;
  response.set_exit_status(waited.exit_status());
  *response.mutable_exited_at() = waited.exited_at();
  return response;
}

absl::StatusOr<v1::MetricsResponse> TaskManager::Metrics(const std::string& ns,
                                                         const v1::MetricsRequest& request) {
  std::vector<std::string> filters(request.filters().begin(), request.filters().end());
  GANTRY_ASSIGN_OR_RETURN(Filter filter, Filter::ParseAny(filters));
  std::vector<std::shared_ptr<Task>> tasks;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, task] : tasks_) {
      const bool match =
          filter.Match([&](const std::vector<std::string>& path) -> std::optional<std::string> {
            if (path.size() == 1 && (path[0] == "id" || path[0] == "container_id")) {
              return key.second;
            }
            return std::nullopt;
          });
      if (key.first == ns && task->pid != 0 && match) tasks.push_back(task);
    }
  }
  v1::MetricsResponse response;
  for (const auto& task : tasks) {
    shimv1::StatsRequest stats;
    stats.set_id(task->id);
    shimv1::StatsResponse measured;
    if (!Call(*task, "Stats", stats, &measured).ok()) continue;  // stopped meanwhile
    v1::Metric* metric = response.add_metrics();
    *metric->mutable_timestamp() = TimeToProto(absl::Now());
    metric->set_id(task->id);
    *metric->mutable_data() = measured.stats();
  }
  return response;
}

void TaskManager::Recover() {
  for (const std::string& ns : ListDirectoryIfAny(absl::StrCat(options_.state, "/tasks"))) {
    for (const std::string& id : ListDirectoryIfAny(absl::StrCat(options_.state, "/tasks/", ns))) {
      auto task = std::make_shared<Task>();
      task->ns = ns;
      task->id = id;
      task->bundle = BundleDir(ns, id);
      task->socket = SocketPath(ns, id);
      // The runtime the task was created with (the default for a bundle
      // that contd left before recording it).
      absl::StatusOr<std::string> runtime = ReadFile(absl::StrCat(task->bundle, "/runtime"));
      task->runtime_binary = runtime.ok() && !runtime->empty() ? *runtime : options_.runtime_binary;
      if (absl::StatusOr<std::string> pid = ReadFile(absl::StrCat(task->bundle, "/shim.pid"));
          pid.ok()) {
        int value = 0;
        if (absl::SimpleAtoi(absl::StripAsciiWhitespace(*pid), &value)) task->shim_pid = value;
      }
      if (absl::StatusOr<std::string> pid = ReadFile(absl::StrCat(task->bundle, "/init.pid"));
          pid.ok()) {
        uint32_t value = 0;
        if (absl::SimpleAtoi(absl::StripAsciiWhitespace(*pid), &value)) task->pid = value;
      }
      shimv1::ConnectRequest connect;
      connect.set_id(id);
      shimv1::ConnectResponse connected;
      const bool alive =
          ProcessExists(task->shim_pid) &&
          CallShim(task->socket, "Connect", connect, &connected, absl::Seconds(5)).ok();
      if (alive && connected.task_pid() != 0) {
        task->pid = connected.task_pid();
        log::Info("contd: reconnected to the shim of task ", id, " (namespace ", ns, ")");
        std::lock_guard lock(mu_);
        tasks_[{ns, id}] = task;
        // From the first kept event: exits while contd was down are
        // published now (possibly again: delivery is at least once).
        StartMonitor(task, 0);
        continue;
      }
      if (alive) {
        // contd died between starting the shim and creating the task.
        StopShim(*task);
        RemoveBundle(*task);
        continue;
      }
      // A task existed if the runtime created its init (pid file) or the
      // shim recorded an exit; otherwise contd died while creating it.
      const bool had_task =
          task->pid != 0 || ::access(absl::StrCat(task->bundle, "/exit.json").c_str(), F_OK) == 0;
      SettleDeadShim(*task, had_task);
      if (!had_task) {
        RemoveBundle(*task);
        continue;
      }
      std::lock_guard lock(mu_);
      tasks_[{ns, id}] = task;
    }
  }
}

}  // namespace gantry::contd
