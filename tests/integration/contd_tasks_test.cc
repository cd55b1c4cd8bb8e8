// contd's Tasks service end to end: a real contd in a temporary root, real
// contd-shims running the real ocirun on the busybox fixture, driven through
// the generated C++ gRPC clients.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/json_log.h"
#include "contd/v1/containers.grpc.pb.h"
#include "contd/v1/event_types.pb.h"
#include "contd/v1/events.grpc.pb.h"
#include "contd/v1/tasks.grpc.pb.h"
#include "tests/integration/contd_test_util.h"
#include "tests/integration/ocirun_test_util.h"
#include "tests/integration/process_spec.h"

namespace {

namespace v1 = gantry::contd::v1;
using gantry::testing::ProcessSpec;
using ocirun_test::Eventually;

// contd in a private directory, with the fixture rootfs to run containers on.
class ContdTasksEnv {
 public:
  ContdTasksEnv() {
    // Shims leave contd's process tree; as subreaper this test reaps them.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    contd_dir_ = env_.MakeDir("contd");
    StartContd();
  }
  ~ContdTasksEnv() {
    // Whatever a failed test left: tasks deleted by force, through contd.
    for (const auto& [ns, id] : created_) {
      v1::KillTaskRequest kill;
      kill.set_container_id(id);
      kill.set_signal(SIGKILL);
      google::protobuf::Empty empty;
      auto context = Context(ns);
      tasks_->Kill(context.get(), kill, &empty);
      v1::WaitTaskRequest wait;
      wait.set_container_id(id);
      v1::WaitTaskResponse waited;
      context = Context(ns);
      tasks_->Wait(context.get(), wait, &waited);
      v1::DeleteTaskRequest remove;
      remove.set_container_id(id);
      v1::DeleteTaskResponse removed;
      context = Context(ns);
      tasks_->Delete(context.get(), remove, &removed);
    }
    contd_.reset();
    ReapZombies();
  }

  void StartContd() {
    contd_ = std::make_unique<gantry::testing::ContdProcess>(contd_dir_);
    auto channel = contd_->Connect();
    containers_ = v1::Containers::NewStub(channel);
    tasks_ = v1::Tasks::NewStub(channel);
    events_ = v1::Events::NewStub(channel);
  }
  void KillContd() {
    contd_->Stop(SIGKILL);
    contd_.reset();
  }

  static std::unique_ptr<grpc::ClientContext> Context(const std::string& ns = "default",
                                                      int seconds = 20) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("containerd-namespace", ns);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    return context;
  }

  // A container whose spec is the fixture's, running `script`, on a bind
  // mount of the fixture rootfs that the shim makes.
  std::string CreateContainer(const std::string& script, bool terminal = false,
                              const std::string& ns = "default") {
    const std::string id = CreateContainerOrEmpty(script, terminal, ns);
    REQUIRE(!id.empty());
    return id;
  }
  // Same, "" when contd refuses or is gone (REQUIRE is not for threads).
  std::string CreateContainerOrEmpty(const std::string& script, bool terminal = false,
                                     const std::string& ns = "default") {
    const std::string id = env_.NewId();
    nlohmann::json spec = env_.config();
    spec["root"]["path"] = "rootfs";
    spec["process"]["args"] = {"sh", "-c", script};
    spec["process"]["terminal"] = terminal;
    v1::CreateContainerRequest request;
    v1::Container* container = request.mutable_container();
    container->set_id(id);
    container->mutable_runtime()->set_name("io.gantry.ocirun.v1");
    container->mutable_spec()->set_type_url(
        "types.containerd.io/opencontainers/runtime-spec/1/Spec");
    container->mutable_spec()->set_value(spec.dump());
    v1::CreateContainerResponse response;
    auto context = Context(ns);
    return containers_->Create(context.get(), request, &response).ok() ? id : "";
  }

  v1::CreateTaskRequest TaskRequest(const std::string& id) {
    v1::CreateTaskRequest request;
    request.set_container_id(id);
    v1::Mount* rootfs = request.add_rootfs();
    rootfs->set_type("bind");
    rootfs->set_source(env_.bundle() + "/rootfs");
    rootfs->add_options("rbind");
    rootfs->add_options("ro");
    request.mutable_log()->set_path(LogPath(id));
    return request;
  }
  std::string LogPath(const std::string& id) const { return env_.dir() + "/" + id + ".log"; }

  uint32_t CreateTask(const v1::CreateTaskRequest& request, const std::string& ns = "default") {
    v1::CreateTaskResponse response;
    auto context = Context(ns);
    grpc::Status status = tasks_->Create(context.get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    created_.emplace_back(ns, request.container_id());
    return response.pid();
  }
  uint32_t Start(const std::string& id, const std::string& exec_id = "") {
    v1::StartTaskRequest request;
    request.set_container_id(id);
    request.set_exec_id(exec_id);
    v1::StartTaskResponse response;
    auto context = Context();
    grpc::Status status = tasks_->Start(context.get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response.pid();
  }
  v1::WaitTaskResponse Wait(const std::string& id, const std::string& exec_id = "") {
    v1::WaitTaskRequest request;
    request.set_container_id(id);
    request.set_exec_id(exec_id);
    v1::WaitTaskResponse response;
    auto context = Context("default", 60);
    grpc::Status status = tasks_->Wait(context.get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response;
  }
  v1::Process Get(const std::string& id, const std::string& exec_id = "") {
    v1::GetTaskRequest request;
    request.set_container_id(id);
    request.set_exec_id(exec_id);
    v1::GetTaskResponse response;
    auto context = Context();
    grpc::Status status = tasks_->Get(context.get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response.process();
  }
  grpc::Status Kill(const std::string& id, int signal, const std::string& exec_id = "") {
    v1::KillTaskRequest request;
    request.set_container_id(id);
    request.set_exec_id(exec_id);
    request.set_signal(static_cast<uint32_t>(signal));
    google::protobuf::Empty empty;
    auto context = Context();
    return tasks_->Kill(context.get(), request, &empty);
  }
  v1::DeleteTaskResponse Delete(const std::string& id) {
    v1::DeleteTaskRequest request;
    request.set_container_id(id);
    v1::DeleteTaskResponse response;
    auto context = Context();
    grpc::Status status = tasks_->Delete(context.get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    std::erase(created_, std::make_pair(std::string("default"), id));
    return response;
  }

  std::string Logged(const std::string& id, const std::string& stream = "stdout") const {
    auto records = gantry::ReadJsonLog(LogPath(id));
    std::string text;
    if (!records.ok()) return text;
    for (const auto& record : *records) {
      if (record.stream == stream) text += record.log;
    }
    return text;
  }

  static void ReapZombies() {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }

  ocirun_test::OcirunEnv env_;
  std::string contd_dir_;
  std::unique_ptr<gantry::testing::ContdProcess> contd_;
  std::unique_ptr<v1::Containers::Stub> containers_;
  std::unique_ptr<v1::Tasks::Stub> tasks_;
  std::unique_ptr<v1::Events::Stub> events_;
  std::vector<std::pair<std::string, std::string>> created_;
};

// Live contd-shim processes serving tasks under `contd_dir`.
std::vector<pid_t> ShimsOf(const std::string& contd_dir) {
  std::vector<pid_t> shims;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto cmdline = ocirun_test::ReadFile("/proc/" + name + "/cmdline");
    // argv[0] is the shim binary (contd's own command line names it too).
    const std::string argv0 = cmdline ? cmdline->substr(0, cmdline->find('\0')) : "";
    if (!absl::EndsWith(argv0, "/contd-shim") || cmdline->find(contd_dir) == std::string::npos) {
      continue;
    }
    if (ocirun_test::ProcessAlive(std::stoi(name))) shims.push_back(std::stoi(name));
  }
  return shims;
}

bool ShimAlive(const std::string& bundle) {
  auto pid = ocirun_test::ReadFile(bundle + "/shim.pid");
  return pid && ocirun_test::ProcessAlive(std::stoi(*pid));
}

}  // namespace

TEST_CASE("a task runs, exits with its status, is logged, and publishes its lifecycle",
          "[contd][tasks]") {
  ContdTasksEnv env;
  v1::SubscribeRequest subscribe;
  subscribe.add_filters("topic~=\"^/tasks/\"");
  auto events_context = ContdTasksEnv::Context("default", 60);
  auto stream = env.events_->Subscribe(events_context.get(), subscribe);

  const std::string id = env.CreateContainer("echo hello; echo oops >&2; exit 7");
  const uint32_t pid = env.CreateTask(env.TaskRequest(id));
  CHECK(env.Get(id).status() == v1::TASK_STATUS_CREATED);
  CHECK(env.Start(id) == pid);
  const v1::WaitTaskResponse exited = env.Wait(id);
  CHECK(exited.exit_status() == 7);
  CHECK(env.Get(id).status() == v1::TASK_STATUS_STOPPED);
  CHECK(env.Get(id).exit_status() == 7);
  CHECK(env.Logged(id) == "hello\n");
  CHECK(env.Logged(id, "stderr") == "oops\n");
  const v1::DeleteTaskResponse deleted = env.Delete(id);
  CHECK(deleted.exit_status() == 7);
  CHECK(deleted.pid() == pid);

  std::vector<std::string> topics;
  v1::Envelope envelope;
  while (topics.size() < 4 && stream->Read(&envelope)) {
    CHECK(envelope.namespace_() == "default");
    CHECK(envelope.timestamp().seconds() > 0);
    topics.push_back(envelope.topic());
    if (envelope.topic() == "/tasks/exit") {
      v1::TaskExit exit;
      REQUIRE(envelope.event().UnpackTo(&exit));
      CHECK(exit.container_id() == id);
      CHECK(exit.exit_status() == 7);
    }
  }
  CHECK(topics ==
        std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"});
  events_context->TryCancel();

  // Nothing is left of the task: no shim, no bundle, no rootfs mount.
  CHECK_FALSE(ocirun_test::Exists(env.contd_dir_ + "/state/tasks/default/" + id));
  CHECK(ocirun_test::ExistingCgroupDirs(id).empty());
}

TEST_CASE("exec with and without a terminal, pause and resume, pids, metrics", "[contd][tasks]") {
  ContdTasksEnv env;
  const std::string id = env.CreateContainer("sleep 1000");
  env.CreateTask(env.TaskRequest(id));
  env.Start(id);

  for (bool terminal : {false, true}) {
    const std::string exec_id = terminal ? "with-tty" : "plain";
    const std::string out = env.env_.dir() + "/" + exec_id + ".out";
    ocirun_test::WriteFile(out, "");
    v1::ExecProcessRequest exec;
    exec.set_container_id(id);
    exec.set_exec_id(exec_id);
    exec.set_terminal(terminal);
    exec.set_stdout(out);
    *exec.mutable_spec() =
        ProcessSpec({"sh", "-c", "test -t 1 && echo tty || echo notty; exit 3"}, terminal);
    google::protobuf::Empty empty;
    auto context = ContdTasksEnv::Context();
    REQUIRE(env.tasks_->Exec(context.get(), exec, &empty).ok());
    CHECK(env.Start(id, exec_id) > 0);
    CHECK(env.Wait(id, exec_id).exit_status() == 3);
    CHECK(ocirun_test::Trim(*ocirun_test::ReadFile(out)) == (terminal ? "tty" : "notty"));
    v1::DeleteProcessRequest remove;
    remove.set_container_id(id);
    remove.set_exec_id(exec_id);
    v1::DeleteTaskResponse removed;
    context = ContdTasksEnv::Context();
    REQUIRE(env.tasks_->DeleteProcess(context.get(), remove, &removed).ok());
    CHECK(removed.exit_status() == 3);
  }

  google::protobuf::Empty empty;
  v1::PauseTaskRequest pause;
  pause.set_container_id(id);
  auto context = ContdTasksEnv::Context();
  REQUIRE(env.tasks_->Pause(context.get(), pause, &empty).ok());
  CHECK(env.Get(id).status() == v1::TASK_STATUS_PAUSED);
  v1::ResumeTaskRequest resume;
  resume.set_container_id(id);
  context = ContdTasksEnv::Context();
  REQUIRE(env.tasks_->Resume(context.get(), resume, &empty).ok());
  CHECK(env.Get(id).status() == v1::TASK_STATUS_RUNNING);

  v1::ListPidsRequest pids;
  pids.set_container_id(id);
  v1::ListPidsResponse listed;
  context = ContdTasksEnv::Context();
  REQUIRE(env.tasks_->ListPids(context.get(), pids, &listed).ok());
  REQUIRE(listed.processes_size() == 1);
  CHECK(listed.processes(0).pid() == env.Get(id).pid());

  v1::MetricsRequest metrics;
  metrics.add_filters("id==" + id);
  v1::MetricsResponse measured;
  context = ContdTasksEnv::Context();
  REQUIRE(env.tasks_->Metrics(context.get(), metrics, &measured).ok());
  REQUIRE(measured.metrics_size() == 1);
  CHECK(nlohmann::json::parse(measured.metrics(0).data().value())["pids"]["current"] == 1);

  v1::ListTasksRequest list;
  v1::ListTasksResponse tasks;
  context = ContdTasksEnv::Context();
  REQUIRE(env.tasks_->List(context.get(), list, &tasks).ok());
  CHECK(tasks.tasks_size() == 1);

  REQUIRE(env.Kill(id, SIGKILL).ok());
  CHECK(env.Wait(id).exit_status() == 128 + SIGKILL);
  env.Delete(id);
}

TEST_CASE(
    "bad task requests get NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION; namespaces "
    "are isolated",
    "[contd][tasks]") {
  ContdTasksEnv env;
  v1::CreateTaskRequest unknown;
  unknown.set_container_id("no-such-container");
  v1::CreateTaskResponse response;
  auto context = ContdTasksEnv::Context();
  CHECK(env.tasks_->Create(context.get(), unknown, &response).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  const std::string id = env.CreateContainer("sleep 1000");
  env.CreateTask(env.TaskRequest(id));
  context = ContdTasksEnv::Context();
  CHECK(env.tasks_->Create(context.get(), env.TaskRequest(id), &response).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);

  // Another namespace sees neither the container nor the task.
  v1::GetTaskRequest get;
  get.set_container_id(id);
  v1::GetTaskResponse got;
  context = ContdTasksEnv::Context("other");
  CHECK(env.tasks_->Get(context.get(), get, &got).error_code() == grpc::StatusCode::NOT_FOUND);
  v1::ListTasksResponse listed;
  context = ContdTasksEnv::Context("other");
  REQUIRE(env.tasks_->List(context.get(), v1::ListTasksRequest(), &listed).ok());
  CHECK(listed.tasks_size() == 0);

  env.Start(id);
  v1::DeleteTaskRequest remove;
  remove.set_container_id(id);
  v1::DeleteTaskResponse removed;
  context = ContdTasksEnv::Context();
  CHECK(env.tasks_->Delete(context.get(), remove, &removed).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  v1::DeleteContainerRequest remove_container;
  remove_container.set_id(id);
  google::protobuf::Empty empty;
  context = ContdTasksEnv::Context();
  CHECK(env.containers_->Delete(context.get(), remove_container, &empty).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  v1::StartTaskRequest start_unknown_exec;
  start_unknown_exec.set_container_id(id);
  start_unknown_exec.set_exec_id("nope");
  v1::StartTaskResponse started;
  context = ContdTasksEnv::Context();
  CHECK(env.tasks_->Start(context.get(), start_unknown_exec, &started).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  REQUIRE(env.Kill(id, SIGKILL).ok());
  env.Wait(id);
  env.Delete(id);
  context = ContdTasksEnv::Context();
  CHECK(env.containers_->Delete(context.get(), remove_container, &empty).ok());
}

TEST_CASE("tasks survive contd being SIGKILLed and are found again on restart",
          "[contd][tasks][survival]") {
  ContdTasksEnv env;
  const std::string terminal = env.CreateContainer("sleep 1000", /*terminal=*/true);
  const std::string counter =
      env.CreateContainer("i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done");
  const std::string exits = env.CreateContainer("sleep 3; exit 7");
  std::map<std::string, uint32_t> pids;
  for (const std::string& id : {terminal, counter, exits}) {
    v1::CreateTaskRequest request = env.TaskRequest(id);
    request.set_terminal(id == terminal);
    env.CreateTask(request);
    pids[id] = env.Start(id);
  }
  std::vector<std::string> bundles;
  for (const std::string& id : {terminal, counter, exits}) {
    bundles.push_back(env.contd_dir_ + "/state/tasks/default/" + id);
  }

  env.KillContd();
  std::this_thread::sleep_for(std::chrono::seconds(6));
  env.StartContd();

  v1::Process first = env.Get(terminal);
  CHECK(first.status() == v1::TASK_STATUS_RUNNING);
  CHECK(first.pid() == pids[terminal]);
  v1::Process second = env.Get(counter);
  CHECK(second.status() == v1::TASK_STATUS_RUNNING);
  CHECK(second.pid() == pids[counter]);
  v1::Process third = env.Get(exits);
  CHECK(third.status() == v1::TASK_STATUS_STOPPED);
  CHECK(third.exit_status() == 7);
  CHECK(env.Wait(exits).exit_status() == 7);

  REQUIRE(env.Kill(counter, SIGKILL).ok());
  env.Wait(counter);
  // Every number from 0 up, without a gap across contd's absence.
  std::vector<std::string> lines = absl::StrSplit(env.Logged(counter), '\n', absl::SkipEmpty());
  REQUIRE(lines.size() > 100);  // 9 s at one line per 50 ms, less start-up
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] != std::to_string(i)) {
      FAIL("line " << i << " of the counter's log is " << lines[i]);
    }
  }

  REQUIRE(env.Kill(terminal, SIGKILL).ok());
  env.Wait(terminal);
  std::vector<pid_t> shims;
  for (const std::string& bundle : bundles) {
    REQUIRE(ShimAlive(bundle));
    shims.push_back(std::stoi(*ocirun_test::ReadFile(bundle + "/shim.pid")));
  }
  for (const std::string& id : {terminal, counter, exits}) env.Delete(id);
  for (const std::string& bundle : bundles) {
    CHECK_FALSE(ocirun_test::Exists(bundle));
  }
  const std::string mountinfo = *ocirun_test::ReadFile("/proc/self/mountinfo");
  CHECK(ocirun_test::LinesContaining(mountinfo, env.contd_dir_).empty());
  for (const std::string& id : {terminal, counter, exits}) {
    CHECK(ocirun_test::ExistingCgroupDirs(id).empty());
  }
  // No shim left: each exited once its task was deleted.
  for (pid_t shim : shims) CHECK_FALSE(ocirun_test::ProcessAlive(shim));
}

TEST_CASE("an invalid spec is INVALID_ARGUMENT naming the field, and starts no shim",
          "[contd][tasks]") {
  ContdTasksEnv env;
  const std::string id = env.CreateContainer("true");
  nlohmann::json spec = env.env_.config();
  spec["process"]["args"] = "not-an-array";
  v1::UpdateContainerRequest update;
  update.mutable_container()->set_id(id);
  update.mutable_container()->mutable_spec()->set_type_url(
      "types.containerd.io/opencontainers/runtime-spec/1/Spec");
  update.mutable_container()->mutable_spec()->set_value(spec.dump());
  update.mutable_update_mask()->add_paths("spec");
  v1::UpdateContainerResponse updated;
  auto context = ContdTasksEnv::Context();
  REQUIRE(env.containers_->Update(context.get(), update, &updated).ok());

  v1::CreateTaskResponse response;
  context = ContdTasksEnv::Context();
  grpc::Status status = env.tasks_->Create(context.get(), env.TaskRequest(id), &response);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("process.args"));
  CHECK_FALSE(ocirun_test::Exists(env.contd_dir_ + "/state/tasks/default/" + id));
}

TEST_CASE("an OOM kill is published as /tasks/oom", "[contd][tasks]") {
  ContdTasksEnv env;
  v1::SubscribeRequest subscribe;
  subscribe.add_filters("topic==\"/tasks/oom\"");
  auto events_context = ContdTasksEnv::Context("default", 60);
  auto stream = env.events_->Subscribe(events_context.get(), subscribe);

  // dd's 64 MiB buffer cannot fit in a 16 MiB memory cgroup.
  const std::string id = env.CreateContainer("dd if=/dev/zero of=/dev/null bs=64M count=1");
  nlohmann::json spec = env.env_.config();
  v1::GetContainerRequest get;
  get.set_id(id);
  v1::GetContainerResponse got;
  auto context = ContdTasksEnv::Context();
  REQUIRE(env.containers_->Get(context.get(), get, &got).ok());
  spec = nlohmann::json::parse(got.container().spec().value());
  spec["linux"]["resources"]["memory"] = {{"limit", 16 << 20}, {"swap", 16 << 20}};
  v1::UpdateContainerRequest update;
  *update.mutable_container() = got.container();
  update.mutable_container()->mutable_spec()->set_value(spec.dump());
  update.mutable_update_mask()->add_paths("spec");
  v1::UpdateContainerResponse updated;
  context = ContdTasksEnv::Context();
  REQUIRE(env.containers_->Update(context.get(), update, &updated).ok());

  env.CreateTask(env.TaskRequest(id));
  env.Start(id);
  CHECK(env.Wait(id).exit_status() == 128 + SIGKILL);
  v1::Envelope envelope;
  REQUIRE(stream->Read(&envelope));
  v1::TaskOOM oom;
  REQUIRE(envelope.event().UnpackTo(&oom));
  CHECK(oom.container_id() == id);
  events_context->TryCancel();
  env.Delete(id);
}

TEST_CASE("a task whose shim is killed is reported stopped and cleaned up", "[contd][tasks]") {
  ContdTasksEnv env;
  const std::string id = env.CreateContainer("sleep 1000");
  env.CreateTask(env.TaskRequest(id));
  const uint32_t pid = env.Start(id);
  const std::string bundle = env.contd_dir_ + "/state/tasks/default/" + id;
  const pid_t shim = std::stoi(*ocirun_test::ReadFile(bundle + "/shim.pid"));
  REQUIRE(::kill(shim, SIGKILL) == 0);
  ::waitpid(shim, nullptr, 0);  // we are its subreaper

  // No exit was recorded (the container was still running): 137, as
  // containerd reports, and the container is gone with its cgroups.
  CHECK(env.Wait(id).exit_status() == 128 + SIGKILL);
  CHECK(env.Get(id).status() == v1::TASK_STATUS_STOPPED);
  CHECK(Eventually([&] { return !ocirun_test::ProcessAlive(static_cast<pid_t>(pid)); }));
  CHECK(ocirun_test::ExistingCgroupDirs(id).empty());
  CHECK(env.Delete(id).exit_status() == 128 + SIGKILL);
  CHECK_FALSE(ocirun_test::Exists(bundle));
  const std::string mountinfo = *ocirun_test::ReadFile("/proc/self/mountinfo");
  CHECK(ocirun_test::LinesContaining(mountinfo, bundle).empty());
}

TEST_CASE(
    "contd SIGKILLed at any instant of a task's life leaves nothing a restart cannot "
    "repair",
    "[contd][tasks][survival]") {
  ContdTasksEnv env;
  std::vector<std::string> ids;
  std::mt19937 random(42);
  for (int round = 0; round < 6; ++round) {
    // One task after another through create, start, exec, kill, delete,
    // until contd dies under them.
    std::atomic<bool> contd_alive = true;
    std::thread churn([&] {
      while (contd_alive) {
        const std::string id = env.CreateContainerOrEmpty("sleep 1000");
        if (id.empty()) return;
        ids.push_back(id);
        v1::CreateTaskResponse created;
        auto context = ContdTasksEnv::Context();
        if (!env.tasks_->Create(context.get(), env.TaskRequest(id), &created).ok()) return;
        v1::StartTaskRequest start;
        start.set_container_id(id);
        v1::StartTaskResponse started;
        context = ContdTasksEnv::Context();
        if (!env.tasks_->Start(context.get(), start, &started).ok()) return;
        v1::ExecProcessRequest exec;
        exec.set_container_id(id);
        exec.set_exec_id("e");
        *exec.mutable_spec() = ProcessSpec({"true"});
        google::protobuf::Empty empty;
        context = ContdTasksEnv::Context();
        if (!env.tasks_->Exec(context.get(), exec, &empty).ok()) return;
        if (!env.Kill(id, SIGKILL).ok()) return;
        v1::WaitTaskRequest wait;
        wait.set_container_id(id);
        v1::WaitTaskResponse waited;
        context = ContdTasksEnv::Context();
        if (!env.tasks_->Wait(context.get(), wait, &waited).ok()) return;
        v1::DeleteTaskRequest remove;
        remove.set_container_id(id);
        v1::DeleteTaskResponse removed;
        context = ContdTasksEnv::Context();
        if (!env.tasks_->Delete(context.get(), remove, &removed).ok()) return;
      }
    });
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 600)(random)));
    env.KillContd();
    contd_alive = false;
    churn.join();
    ContdTasksEnv::ReapZombies();
    env.StartContd();
  }

  // Repair through the API alone: whatever task is left is killed and deleted.
  for (const std::string& id : ids) {
    v1::GetTaskRequest get;
    get.set_container_id(id);
    v1::GetTaskResponse got;
    auto context = ContdTasksEnv::Context();
    if (!env.tasks_->Get(context.get(), get, &got).ok()) continue;
    env.Kill(id, SIGKILL);
    env.Wait(id);
    env.Delete(id);
  }
  INFO(ids.size() << " containers created over 6 rounds");
  CHECK(ids.size() >= 6);
  std::vector<std::string> left;
  for (const std::string& id : ids) {
    if (ocirun_test::Exists(env.contd_dir_ + "/state/tasks/default/" + id)) left.push_back(id);
    for (const std::string& cgroup : ocirun_test::ExistingCgroupDirs(id)) left.push_back(cgroup);
  }
  CHECK(left.empty());
  const std::string mountinfo = *ocirun_test::ReadFile("/proc/self/mountinfo");
  CHECK(ocirun_test::LinesContaining(mountinfo, env.contd_dir_).empty());
  ContdTasksEnv::ReapZombies();
  for (pid_t shim : ShimsOf(env.contd_dir_)) {
    FAIL_CHECK(
        "shim left: " << *ocirun_test::ReadFile("/proc/" + std::to_string(shim) + "/cmdline"));
  }
}
