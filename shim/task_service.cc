#include "shim/task_service.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/mount_list.h"
#include "common/proto_time.h"
#include "common/unix_socket.h"
#include "nlohmann/json.hpp"

namespace gantry::shim {
namespace {

using contd::v1::TaskStatus;
using google::protobuf::Empty;

// Keeps the events of the last few minutes of a busy task; contd polls
// continuously, so it only needs them across its own restart.
constexpr size_t kKeptEvents = 256;

uint32_t ExitStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) return 128 + static_cast<uint32_t>(WTERMSIG(wait_status));
  return static_cast<uint32_t>(WEXITSTATUS(wait_status));
}

absl::StatusOr<pid_t> ReadPidFile(const std::string& path) {
  GANTRY_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  pid_t pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) || pid <= 0) {
    return absl::InternalError(absl::StrCat(path, ": not a pid: ", text));
  }
  return pid;
}

absl::Status NotFound(const std::string& id, const std::string& exec_id) {
  if (exec_id.empty()) return absl::NotFoundError(absl::StrCat("task ", id, ": not found"));
  return absl::NotFoundError(absl::StrCat("exec ", exec_id, " of task ", id, ": not found"));
}

}  // namespace

TaskService::TaskService(EventLoop& loop, TaskOptions options, OciRuntime runtime)
    : loop_(loop), options_(std::move(options)), runtime_(std::move(runtime)) {}

TaskService::~TaskService() {
  // Stdio relays and the OOM watcher leave the loop before it goes.
  processes_.clear();
  oom_watcher_.reset();
}

std::string TaskService::BundlePath(absl::string_view name) const {
  return absl::StrCat(options_.bundle, "/", name);
}

void TaskService::Dispatch(const ttrpc::Request& request, Responder responder) {
  if (request.service() != kTaskService) {
    return responder.Reply(
        absl::UnimplementedError(absl::StrCat("service ", request.service(), " is not served")));
  }
  // Parses the request, runs the handler and replies with its result.
  auto call = [&](auto handler, auto request_message) {
    if (!request_message.ParseFromString(request.payload())) {
      return responder.Reply(
          absl::InvalidArgumentError(absl::StrCat("malformed ", request.method(), " request")));
    }
    auto result = (this->*handler)(request_message);
    if (!result.ok()) return responder.Reply(result.status());
    responder.Reply(result->SerializeAsString());
  };
  const std::string& method = request.method();
  if (method == "Create") return call(&TaskService::Create, v1::CreateTaskRequest());
  if (method == "Start") return call(&TaskService::Start, v1::StartRequest());
  if (method == "Delete") return call(&TaskService::Delete, v1::DeleteRequest());
  if (method == "State") return call(&TaskService::State, v1::StateRequest());
  if (method == "Pids") return call(&TaskService::Pids, v1::PidsRequest());
  if (method == "Pause") return call(&TaskService::Pause, v1::PauseRequest());
  if (method == "Resume") return call(&TaskService::Resume, v1::ResumeRequest());
  if (method == "Kill") return call(&TaskService::Kill, v1::KillRequest());
  if (method == "Exec") return call(&TaskService::Exec, v1::ExecProcessRequest());
  if (method == "ResizePty") return call(&TaskService::ResizePty, v1::ResizePtyRequest());
  if (method == "CloseIO") return call(&TaskService::CloseIO, v1::CloseIORequest());
  if (method == "Update") return call(&TaskService::Update, v1::UpdateTaskRequest());
  if (method == "Stats") return call(&TaskService::Stats, v1::StatsRequest());
  if (method == "Connect") return call(&TaskService::Connect, v1::ConnectRequest());
  if (method == "Shutdown") return call(&TaskService::Shutdown, v1::ShutdownRequest());
  if (method == "Wait") {
    v1::WaitRequest wait;
    if (!wait.ParseFromString(request.payload())) {
      return responder.Reply(absl::InvalidArgumentError("malformed Wait request"));
    }
    return Wait(wait, std::move(responder));
  }
  if (method == "Events") {
    v1::EventsRequest events;
    if (!events.ParseFromString(request.payload())) {
      return responder.Reply(absl::InvalidArgumentError("malformed Events request"));
    }
    return Events(events, std::move(responder));
  }
  responder.Reply(absl::UnimplementedError(absl::StrCat(kTaskService, "/", method)));
}

absl::StatusOr<TaskService::Process*> TaskService::Find(const std::string& id,
                                                        const std::string& exec_id) {
  if (id != options_.id) return NotFound(id, exec_id);
  auto found = processes_.find(exec_id);
  if (found == processes_.end()) return NotFound(id, exec_id);
  return found->second.get();
}

absl::Status TaskService::MountRootfs(const v1::CreateTaskRequest& request) {
  if (request.rootfs().empty()) return absl::OkStatus();
  const std::string target = BundlePath("rootfs");
  GANTRY_RETURN_IF_ERROR(MakeDirs(target));
  std::vector<Mount> mounts;
  for (const contd::v1::Mount& m : request.rootfs()) {
    mounts.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
  }
  // MountAll also mounts overlays of more layers than one page of mount data holds.
  GANTRY_RETURN_IF_ERROR(Annotate(MountAll(mounts, target), "rootfs"));
  rootfs_mounted_ = true;
  return absl::OkStatus();
}

void TaskService::UnmountRootfs() {
  if (!rootfs_mounted_) return;
  // Layered mounts (several rootfs entries) all come off.
  UnmountAll(BundlePath("rootfs"));
  rootfs_mounted_ = false;
}

absl::Status TaskService::RunWithStdio(Process& process, std::vector<std::string> args) {
  UniqueFd console_listener;
  std::string console_path;
  if (process.paths.terminal) {
    console_path = absl::StrCat(options_.socket_path, ".console");
    GANTRY_ASSIGN_OR_RETURN(console_listener, ListenUnixSocket(console_path, 0600));
    args.insert(args.begin() + 1, {"--console-socket", console_path});
  }
  absl::Status ran = runtime_.Run(args, process.stdio->ProcessSide());
  process.stdio->CloseProcessSide();
  if (console_listener) {
    ::unlink(console_path.c_str());
    if (ran.ok()) {
      // The runtime sent the pty master before it exited: it is queued.
      UniqueFd connection(
          ::accept4(console_listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!connection) return LastErrno("console socket: accept");
      GANTRY_ASSIGN_OR_RETURN(ReceivedFd master, RecvFd(connection.get()));
      if (!master.fd) return absl::InternalError("console socket: no pty master received");
      GANTRY_RETURN_IF_ERROR(process.stdio->AttachConsole(std::move(master.fd)));
    }
  }
  return ran;
}

absl::StatusOr<v1::CreateTaskResponse> TaskService::Create(const v1::CreateTaskRequest& request) {
  if (request.id() != options_.id) {
    return absl::InvalidArgumentError(
        absl::StrCat("id: this shim serves task ", options_.id, ", not ", request.id()));
  }
  if (processes_.count("") || deleted_) {
    return absl::AlreadyExistsError(absl::StrCat("task ", options_.id, ": already created"));
  }
  if (!request.checkpoint().empty()) {
    return absl::UnimplementedError("checkpoint: restoring from a checkpoint is not supported");
  }
  if (request.has_log() && !request.log().path().empty()) {
    JsonLogOptions log_options;
    log_options.max_size = request.log().max_size();
    log_options.max_file = std::max(1, request.log().max_file());
    absl::StatusOr<JsonLogWriter> log = JsonLogWriter::Open(request.log().path(), log_options);
    if (!log.ok()) return Annotate(log.status(), "log.path");
    log_.emplace(std::move(*log));
  }

  auto process = std::make_unique<Process>();
  process->paths =
      StdioPaths{request.stdin(), request.stdout(), request.stderr(), request.terminal()};
  GANTRY_ASSIGN_OR_RETURN(process->stdio,
                          ProcessStdio::Open(loop_, process->paths, log_ ? &*log_ : nullptr));
  GANTRY_RETURN_IF_ERROR(MountRootfs(request));
  const std::string pid_file = BundlePath("init.pid");
  absl::Status created = RunWithStdio(
      *process, {"create", "--bundle", options_.bundle, "--pid-file", pid_file, options_.id});
  absl::StatusOr<pid_t> pid = created.ok() ? ReadPidFile(pid_file) : absl::StatusOr<pid_t>(created);
  if (!pid.ok()) {
    // Leave nothing behind: the runtime's state, then our mounts.
    runtime_.Run({"delete", "--force", options_.id}).IgnoreError();
    UnmountRootfs();
    return pid.status();
  }
  process->pid = *pid;

  absl::StatusOr<std::unique_ptr<OomWatcher>> watcher = OomWatcher::Watch(loop_, *pid, [this] {
    v1::ShimEvent event;
    event.set_kind(v1::ShimEvent::KIND_OOM);
    Publish(std::move(event));
  });
  if (watcher.ok()) {
    oom_watcher_ = std::move(*watcher);
  } else {
    log::Warning("contd-shim: OOM kills of ", options_.id,
                 " will not be reported: ", watcher.status().message());
  }
  processes_[""] = std::move(process);
  v1::CreateTaskResponse response;
  response.set_pid(static_cast<uint32_t>(*pid));
  return response;
}

absl::StatusOr<v1::StartResponse> TaskService::Start(const v1::StartRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  if (process->status != contd::v1::TASK_STATUS_CREATED || process->exit) {
    return absl::FailedPreconditionError(absl::StrCat(
        request.exec_id().empty() ? "task " : "exec ",
        request.exec_id().empty() ? options_.id : request.exec_id(), ": already started"));
  }
  if (request.exec_id().empty()) {
    GANTRY_RETURN_IF_ERROR(runtime_.Run({"start", options_.id}));
  } else {
    Process& init = *processes_.at("");
    if (init.exit) {
      return absl::FailedPreconditionError(absl::StrCat("task ", options_.id, ": not running"));
    }
    const std::string pid_file = BundlePath(absl::StrCat("exec-", request.exec_id(), ".pid"));
    GANTRY_RETURN_IF_ERROR(
        RunWithStdio(*process, {"exec", "--process", process->spec_path, "--detach", "--pid-file",
                                pid_file, options_.id}));
    GANTRY_ASSIGN_OR_RETURN(process->pid, ReadPidFile(pid_file));
    ::unlink(pid_file.c_str());
  }
  process->status = contd::v1::TASK_STATUS_RUNNING;
  v1::StartResponse response;
  response.set_pid(static_cast<uint32_t>(process->pid));
  return response;
}

absl::StatusOr<v1::DeleteResponse> TaskService::Delete(const v1::DeleteRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  const bool init = request.exec_id().empty();
  if (!process->exit && process->status != contd::v1::TASK_STATUS_CREATED) {
    return absl::FailedPreconditionError(
        absl::StrCat(init ? "task " : "exec ", init ? options_.id : request.exec_id(),
                     ": running; it must be stopped before deletion"));
  }
  if (init) {
    if (processes_.size() > 1) {
      for (const auto& [exec_id, exec] : processes_) {
        if (!exec_id.empty() && !exec->exit && exec->pid > 0) ::kill(exec->pid, SIGKILL);
      }
    }
    // A created task never started: the runtime kills its waiting init.
    GANTRY_RETURN_IF_ERROR(runtime_.Run({"delete", "--force", options_.id}));
    if (!process->exit && process->pid > 0) {
      int wait_status = 0;
      while (::waitpid(process->pid, &wait_status, 0) < 0 && errno == EINTR) {
      }
      RecordExit(*process, wait_status);
    }
    UnmountRootfs();
    oom_watcher_.reset();
  }
  v1::DeleteResponse response;
  response.set_pid(static_cast<uint32_t>(process->pid));
  if (process->exit) {
    response.set_exit_status(process->exit->status);
    *response.mutable_exited_at() = TimeToProto(process->exit->at);
  }
  if (init) {
    processes_.clear();
    log_.reset();
    deleted_ = true;
    ::unlink(BundlePath("init.pid").c_str());
  } else {
    ::unlink(process->spec_path.c_str());
    processes_.erase(request.exec_id());
  }
  return response;
}

absl::StatusOr<v1::StateResponse> TaskService::State(const v1::StateRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  v1::StateResponse response;
  response.set_id(request.exec_id().empty() ? options_.id : request.exec_id());
  response.set_exec_id(request.exec_id());
  response.set_bundle(options_.bundle);
  response.set_pid(static_cast<uint32_t>(process->pid));
  response.set_status(process->exit ? contd::v1::TASK_STATUS_STOPPED : process->status);
  response.set_stdin(process->paths.in);
  response.set_stdout(process->paths.out);
  response.set_stderr(process->paths.err);
  response.set_terminal(process->paths.terminal);
  if (process->exit) {
    response.set_exit_status(process->exit->status);
    *response.mutable_exited_at() = TimeToProto(process->exit->at);
  }
  return response;
}

absl::StatusOr<v1::PidsResponse> TaskService::Pids(const v1::PidsRequest& request) {
  GANTRY_RETURN_IF_ERROR(Find(request.id(), "").status());
  GANTRY_ASSIGN_OR_RETURN(std::string output,
                          runtime_.Output({"ps", "--format", "json", options_.id}));
  nlohmann::json pids = nlohmann::json::parse(output, nullptr, false);
  if (!pids.is_array()) {
    return absl::InternalError(absl::StrCat(runtime_.binary(), " ps: unexpected output: ", output));
  }
  v1::PidsResponse response;
  for (const nlohmann::json& pid : pids) {
    if (pid.is_number_unsigned()) response.add_processes()->set_pid(pid.get<uint32_t>());
  }
  return response;
}

absl::StatusOr<Empty> TaskService::Pause(const v1::PauseRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Process * init, Find(request.id(), ""));
  GANTRY_RETURN_IF_ERROR(runtime_.Run({"pause", options_.id}));
  init->status = contd::v1::TASK_STATUS_PAUSED;
  return Empty();
}

absl::StatusOr<Empty> TaskService::Resume(const v1::ResumeRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Process * init, Find(request.id(), ""));
  GANTRY_RETURN_IF_ERROR(runtime_.Run({"resume", options_.id}));
  init->status = contd::v1::TASK_STATUS_RUNNING;
  return Empty();
}

absl::StatusOr<Empty> TaskService::Kill(const v1::KillRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  const int signal = request.signal() == 0 ? SIGTERM : static_cast<int>(request.signal());
  if (request.exec_id().empty()) {
    if (process->exit && !request.all()) {
      return absl::NotFoundError(absl::StrCat("task ", options_.id, ": process already finished"));
    }
    std::vector<std::string> args = {"kill"};
    if (request.all()) args.push_back("--all");
    args.insert(args.end(), {options_.id, std::to_string(signal)});
    GANTRY_RETURN_IF_ERROR(runtime_.Run(args));
    return Empty();
  }
  if (process->exit || process->pid <= 0) {
    return absl::NotFoundError(
        absl::StrCat("exec ", request.exec_id(), ": process already finished"));
  }
  // The shim has not reaped it (it would have an exit), so the pid is still it.
  if (::kill(process->pid, signal) != 0) return LastErrno(absl::StrCat("kill ", process->pid));
  return Empty();
}

absl::StatusOr<Empty> TaskService::Exec(const v1::ExecProcessRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Process * init, Find(request.id(), ""));
  if (request.exec_id().empty()) return absl::InvalidArgumentError("exec_id: must not be empty");
  if (processes_.count(request.exec_id())) {
    return absl::AlreadyExistsError(absl::StrCat("exec ", request.exec_id(), ": already exists"));
  }
  if (init->exit || init->status == contd::v1::TASK_STATUS_CREATED) {
    return absl::FailedPreconditionError(absl::StrCat("task ", options_.id, ": not running"));
  }
  // The spec is an OCI process as JSON, as containerd packs it.
  nlohmann::json spec = nlohmann::json::parse(request.spec().value(), nullptr, false);
  if (!spec.is_object()) return absl::InvalidArgumentError("spec: not an OCI process JSON object");
  if (spec.value("terminal", false) != request.terminal()) spec["terminal"] = request.terminal();

  auto process = std::make_unique<Process>();
  process->exec_id = request.exec_id();
  process->paths =
      StdioPaths{request.stdin(), request.stdout(), request.stderr(), request.terminal()};
  process->spec_path = BundlePath(absl::StrCat("exec-", request.exec_id(), ".json"));
  GANTRY_RETURN_IF_ERROR(
      WriteFileAtomic(process->spec_path, spec.dump(), 0600, Durability::kVolatile));
  absl::StatusOr<std::unique_ptr<ProcessStdio>> stdio =
      ProcessStdio::Open(loop_, process->paths, nullptr);
  if (!stdio.ok()) {
    ::unlink(process->spec_path.c_str());
    return stdio.status();
  }
  process->stdio = std::move(*stdio);
  processes_[request.exec_id()] = std::move(process);
  return Empty();
}

absl::StatusOr<Empty> TaskService::ResizePty(const v1::ResizePtyRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  GANTRY_RETURN_IF_ERROR(process->stdio->Resize(request.width(), request.height()));
  return Empty();
}

absl::StatusOr<Empty> TaskService::CloseIO(const v1::CloseIORequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Process * process, Find(request.id(), request.exec_id()));
  if (request.stdin()) process->stdio->CloseStdin();
  return Empty();
}

absl::StatusOr<Empty> TaskService::Update(const v1::UpdateTaskRequest& request) {
  GANTRY_RETURN_IF_ERROR(Find(request.id(), "").status());
  // Resources are an OCI LinuxResources as JSON, as containerd packs them.
  nlohmann::json resources = nlohmann::json::parse(request.resources().value(), nullptr, false);
  if (!resources.is_object()) {
    return absl::InvalidArgumentError("resources: not an OCI LinuxResources JSON object");
  }
  const std::string path = BundlePath("update.json");
  GANTRY_RETURN_IF_ERROR(WriteFileAtomic(path, resources.dump(), 0600, Durability::kVolatile));
  absl::Status updated = runtime_.Run({"update", "--resources", path, options_.id});
  ::unlink(path.c_str());
  GANTRY_RETURN_IF_ERROR(updated);
  return Empty();
}

absl::StatusOr<v1::StatsResponse> TaskService::Stats(const v1::StatsRequest& request) {
  GANTRY_RETURN_IF_ERROR(Find(request.id(), "").status());
  GANTRY_ASSIGN_OR_RETURN(std::string output, runtime_.Output({"events", "--stats", options_.id}));
  // runc's stats event: {"type":"stats","id":…,"data":{cpu, memory, pids …}}.
  nlohmann::json event = nlohmann::json::parse(output, nullptr, false);
  if (!event.is_object() || !event.contains("data")) {
    return absl::InternalError(
        absl::StrCat(runtime_.binary(), " events --stats: unexpected output: ", output));
  }
  v1::StatsResponse response;
  response.mutable_stats()->set_type_url("types.gantry.dev/ocirun/stats+json");
  response.mutable_stats()->set_value(event["data"].dump());
  return response;
}

absl::StatusOr<v1::ConnectResponse> TaskService::Connect(const v1::ConnectRequest& request) {
  v1::ConnectResponse response;
  response.set_shim_pid(static_cast<uint32_t>(::getpid()));
  response.set_version(GANTRY_VERSION);
  if (auto init = processes_.find(""); init != processes_.end() && request.id() == options_.id) {
    response.set_task_pid(static_cast<uint32_t>(init->second->pid));
  }
  return response;
}

absl::StatusOr<Empty> TaskService::Shutdown(const v1::ShutdownRequest& request) {
  if (!request.now() && !processes_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("task ", options_.id, ": still has processes; delete them first"));
  }
  Terminate();
  return Empty();
}

void TaskService::Terminate() {
  for (const auto& [exec_id, process] : processes_) {
    if (!process->exit) {
      log::Warning("contd-shim: exiting while ", exec_id.empty() ? "the task" : exec_id,
                   " still runs");
    }
  }
  loop_.Stop();
}

void TaskService::OnStopSignal() {
  for (const auto& [exec_id, process] : processes_) {
    if (!process->exit && process->pid > 0) {
      log::Warning("contd-shim: stop signal ignored: ",
                   exec_id.empty() ? "the task" : absl::StrCat("exec ", exec_id),
                   " still runs (delete it first)");
      return;
    }
  }
  Terminate();
}

void TaskService::Wait(const v1::WaitRequest& request, Responder responder) {
  absl::StatusOr<Process*> process = Find(request.id(), request.exec_id());
  if (!process.ok()) return responder.Reply(process.status());
  if ((*process)->exit) {
    v1::WaitResponse response;
    response.set_exit_status((*process)->exit->status);
    *response.mutable_exited_at() = TimeToProto((*process)->exit->at);
    return responder.Reply(response.SerializeAsString());
  }
  (*process)->waiters.push_back(std::move(responder));
}

void TaskService::Events(const v1::EventsRequest& request, Responder responder) {
  if (last_seq_ > request.after()) {
    v1::EventsResponse response;
    for (const v1::ShimEvent& event : events_) {
      if (event.seq() > request.after()) *response.add_events() = event;
    }
    return responder.Reply(response.SerializeAsString());
  }
  // Drop polls whose clients went away, so waiting costs nothing over time.
  std::erase_if(event_waiters_, [](const auto& waiter) { return !waiter.second.connected(); });
  event_waiters_.emplace_back(request.after(), std::move(responder));
}

void TaskService::Publish(v1::ShimEvent event) {
  event.set_seq(++last_seq_);
  *event.mutable_timestamp() = TimeToProto(absl::Now());
  events_.push_back(event);
  if (events_.size() > kKeptEvents) events_.pop_front();
  v1::EventsResponse response;
  *response.add_events() = std::move(event);
  const std::string payload = response.SerializeAsString();
  for (const auto& waiter : event_waiters_) waiter.second.Reply(payload);
  event_waiters_.clear();
}

void TaskService::RecordExit(Process& process, int wait_status) {
  if (process.stdio) process.stdio->Drain();
  process.exit = ExitRecord{ExitStatus(wait_status), absl::Now()};
  if (process.status == contd::v1::TASK_STATUS_CREATED) {
    // The runtime's init died before start: nothing else would say so.
    log::Warning("contd-shim: ", process.exec_id.empty() ? options_.id : process.exec_id,
                 " exited before it was started, status ", process.exit->status);
  }
  process.status = contd::v1::TASK_STATUS_STOPPED;
  if (process.exec_id.empty()) {
    nlohmann::json record = {
        {"pid", process.pid},
        {"exit_status", process.exit->status},
        {"exited_at", absl::FormatTime(absl::RFC3339_full, process.exit->at, absl::UTCTimeZone())}};
    if (absl::Status written = WriteFileAtomic(BundlePath(kExitFile), record.dump(), 0600);
        !written.ok()) {
      log::Error("contd-shim: ", written.message());
    }
  }
  v1::WaitResponse response;
  response.set_exit_status(process.exit->status);
  *response.mutable_exited_at() = TimeToProto(process.exit->at);
  const std::string payload = response.SerializeAsString();
  for (const Responder& waiter : process.waiters) waiter.Reply(payload);
  process.waiters.clear();

  v1::ShimEvent event;
  event.set_kind(v1::ShimEvent::KIND_EXIT);
  event.set_exec_id(process.exec_id);
  event.set_pid(static_cast<uint32_t>(process.pid));
  event.set_exit_status(process.exit->status);
  *event.mutable_exited_at() = response.exited_at();
  Publish(std::move(event));
}

void TaskService::OnChildExited(pid_t pid, int wait_status) {
  for (auto& [exec_id, process] : processes_) {
    if (process->pid == pid && !process->exit) return RecordExit(*process, wait_status);
  }
  // Anything else is an orphan of the container reparented to us: reaped.
}

}  // namespace gantry::shim
