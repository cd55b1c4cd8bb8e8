#include "engined/containers/exec_manager.h"

#include <fcntl.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "engined/containers/oci_spec.h"

namespace gantry::engined {
namespace {

constexpr char kProcessTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Process";

}  // namespace

ExecManager::~ExecManager() {
  Shutdown();
  threads_.JoinAll();
}

void ExecManager::Shutdown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  for (auto& [id, exec] : execs_) {
    if (exec->wait_context) exec->wait_context->TryCancel();
    if (exec->io) exec->io->DetachAll();
  }
}

absl::StatusOr<std::shared_ptr<ExecManager::Exec>> ExecManager::Find(const std::string& exec_id) {
  std::lock_guard lock(mu_);
  auto it = execs_.find(exec_id);
  if (it == execs_.end())
    return absl::NotFoundError(absl::StrCat("No such exec instance: ", exec_id));
  return it->second;
}

absl::StatusOr<std::string> ExecManager::Create(const std::string& container_ref,
                                                const nlohmann::json& config) {
  if (!config.is_object()) return absl::InvalidArgumentError("exec config: expected an object");
  GANTRY_ASSIGN_OR_RETURN(Container container, containers_.Get(container_ref));
  if (container.state.status == "paused") {
    return absl::FailedPreconditionError(
        absl::StrCat("Container ", container.id, " is paused, unpause the container before exec"));
  }
  if (!container.state.Running()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Container ", container.id, " is not running"));
  }
  // Validated now, so a bad exec fails at create as dockerd's does.
  GANTRY_RETURN_IF_ERROR(BuildExecProcess(container, config).status());
  auto exec = std::make_shared<Exec>();
  exec->id = NewRandomId();
  exec->container_id = container.id;
  exec->config = config;
  std::lock_guard lock(mu_);
  execs_.emplace(exec->id, exec);
  return exec->id;
}

absl::Status ExecManager::Start(const std::string& exec_id, ContainerIo::Sink sink,
                                std::function<void()> on_end) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Exec> exec, Find(exec_id));
  GANTRY_ASSIGN_OR_RETURN(Container container, containers_.Get(exec->container_id));
  // Names in User are looked up in the running container's files.
  UniqueFd root(::open(absl::StrCat("/proc/", container.state.pid, "/root").c_str(),
                       O_PATH | O_DIRECTORY | O_CLOEXEC));
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json process,
                          BuildExecProcess(container, exec->config, root.get()));
  const bool tty = exec->config.value("Tty", false);
  contd::v1::ExecProcessRequest request;
  {
    std::lock_guard lock(mu_);
    if (exec->started) {
      return absl::FailedPreconditionError(
          absl::StrCat("Error: Exec command ", exec_id, " has already run"));
    }
    exec->started = true;
    GANTRY_ASSIGN_OR_RETURN(
        exec->io,
        ContainerIo::Open(absl::StrCat(exec_root_, "/containers/", container.id, "/exec-", exec_id),
                          tty, exec->config.value("AttachStdin", false)));
    if (sink) exec->io->Attach(std::move(sink), std::move(on_end));
    request.set_stdin(exec->io->stdin_path());
    request.set_stdout(exec->io->stdout_path());
    request.set_stderr(exec->io->stderr_path());
  }
  request.set_container_id(container.id);
  request.set_exec_id(exec_id);
  request.set_terminal(tty);
  request.mutable_spec()->set_type_url(kProcessTypeUrl);
  request.mutable_spec()->set_value(process.dump());
  google::protobuf::Empty empty;
  auto context = ContdClient::Context();
  absl::Status status = FromGrpc(contd_.tasks().Exec(context.get(), request, &empty), exec_id);
  contd::v1::StartTaskResponse started;
  if (status.ok()) {
    contd::v1::StartTaskRequest start;
    start.set_container_id(container.id);
    start.set_exec_id(exec_id);
    auto start_context = ContdClient::Context();
    status = FromGrpc(contd_.tasks().Start(start_context.get(), start, &started), exec_id);
  }
  if (!status.ok()) {
    std::unique_ptr<ContainerIo> io;
    {
      std::lock_guard lock(mu_);
      exec->exited = true;
      exec->exit_code = 126;
      io = std::move(exec->io);
    }
    io.reset();  // ends the attached client
    return status;
  }
  {
    std::lock_guard lock(mu_);
    exec->running = true;
    exec->pid = static_cast<int>(started.pid());
    if (shutting_down_ || !threads_.Spawn([this, exec] { Monitor(exec); })) {
      return absl::UnavailableError("engined is shutting down");
    }
  }
  return absl::OkStatus();
}

void ExecManager::Monitor(std::shared_ptr<Exec> exec) {
  contd::v1::WaitTaskRequest request;
  request.set_container_id(exec->container_id);
  request.set_exec_id(exec->id);
  grpc::ClientContext* context;
  {
    std::lock_guard lock(mu_);
    exec->wait_context = ContdClient::Context(absl::InfiniteDuration());
    context = exec->wait_context.get();
  }
  contd::v1::WaitTaskResponse response;
  grpc::Status status = contd_.tasks().Wait(context, request, &response);
  std::unique_ptr<ContainerIo> io;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    exec->running = false;
    exec->exited = true;
    exec->exit_code = status.ok() ? static_cast<int>(response.exit_status()) : 137;
    io = std::move(exec->io);
  }
  // The exit code is recorded first: the client inspects it once its
  // stream ends.
  io.reset();
  contd::v1::DeleteProcessRequest remove;
  remove.set_container_id(exec->container_id);
  remove.set_exec_id(exec->id);
  contd::v1::DeleteTaskResponse removed;
  auto remove_context = ContdClient::Context();
  (void)contd_.tasks().DeleteProcess(remove_context.get(), remove, &removed);
  (void)RemoveTree(
      absl::StrCat(exec_root_, "/containers/", exec->container_id, "/exec-", exec->id));
}

absl::Status ExecManager::WriteStdin(const std::string& exec_id, absl::string_view data) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Exec> exec, Find(exec_id));
  ContainerIo* io;
  {
    std::lock_guard lock(mu_);
    if (!exec->io) return absl::FailedPreconditionError("the exec has ended");
    io = exec->io.get();
  }
  return io->WriteStdin(data);
}

absl::Status ExecManager::StdinEnded(const std::string& exec_id) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Exec> exec, Find(exec_id));
  contd::v1::CloseIORequest request;
  request.set_container_id(exec->container_id);
  request.set_exec_id(exec_id);
  request.set_stdin(true);
  google::protobuf::Empty empty;
  auto context = ContdClient::Context();
  return FromGrpc(contd_.tasks().CloseIO(context.get(), request, &empty), exec_id);
}

absl::Status ExecManager::Resize(const std::string& exec_id, uint32_t height, uint32_t width) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Exec> exec, Find(exec_id));
  contd::v1::ResizePtyRequest request;
  request.set_container_id(exec->container_id);
  request.set_exec_id(exec_id);
  request.set_width(width);
  request.set_height(height);
  google::protobuf::Empty empty;
  auto context = ContdClient::Context();
  return FromGrpc(contd_.tasks().ResizePty(context.get(), request, &empty), exec_id);
}

absl::Status ExecManager::Kill(const std::string& exec_id, int signal) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Exec> exec, Find(exec_id));
  contd::v1::KillTaskRequest request;
  request.set_container_id(exec->container_id);
  request.set_exec_id(exec_id);
  request.set_signal(static_cast<uint32_t>(signal));
  google::protobuf::Empty empty;
  auto context = ContdClient::Context();
  return FromGrpc(contd_.tasks().Kill(context.get(), request, &empty), exec_id);
}

absl::StatusOr<nlohmann::json> ExecManager::Inspect(const std::string& exec_id) {
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<Exec> exec, Find(exec_id));
  std::lock_guard lock(mu_);
  const nlohmann::json& c = exec->config;
  std::vector<std::string> cmd = c.value("Cmd", std::vector<std::string>{});
  return nlohmann::json{
      {"ID", exec->id},
      {"Running", exec->running},
      {"ExitCode", exec->exited ? nlohmann::json(exec->exit_code) : nlohmann::json()},
      {"ProcessConfig",
       {{"tty", c.value("Tty", false)},
        {"entrypoint", cmd.empty() ? "" : cmd[0]},
        {"arguments", cmd.empty() ? std::vector<std::string>{}
                                  : std::vector<std::string>(cmd.begin() + 1, cmd.end())},
        {"privileged", c.value("Privileged", false)},
        {"user", c.value("User", "")}}},
      {"OpenStdin", c.value("AttachStdin", false)},
      {"OpenStderr", c.value("AttachStderr", false)},
      {"OpenStdout", c.value("AttachStdout", false)},
      {"CanRemove", false},
      {"ContainerID", exec->container_id},
      {"DetachKeys", ""},
      {"Pid", exec->pid},
  };
}

}  // namespace gantry::engined
