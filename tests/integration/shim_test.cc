// contd-shim driven directly over its ttrpc socket, as contd drives it: a
// real shim daemon running the real ocirun on the busybox fixture bundle.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "absl/strings/str_split.h"
#include "common/json_log.h"
#include "contd/tasks/shim_launcher.h"
#include "shim/v1/shim.pb.h"
#include "tests/integration/ocirun_test_util.h"
#include "tests/integration/process_spec.h"

namespace {

using namespace gantry::shim::v1;
using gantry::testing::ProcessSpec;
using ocirun_test::Eventually;
using ocirun_test::OcirunEnv;

constexpr const char* kShim = GANTRY_BINARY_DIR "/shim/contd-shim";

// One shim serving one container id in an OcirunEnv; shut down and reaped
// at the end of the test.
class ShimFixture {
 public:
  ShimFixture() {
    // Shims double-fork away from us; as subreaper we can still reap them.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    id_ = env_.NewId();
    socket_ = env_.dir() + "/shim.sock";
    gantry::contd::ShimLaunch launch{kShim, ocirun_test::Runtime(), env_.root(), "default",
                                     id_,   env_.bundle(),          socket_};
    REQUIRE(gantry::contd::LaunchShim(launch).ok());
    ConnectResponse connected = Call<ConnectResponse>("Connect", ConnectRequest());
    shim_pid_ = static_cast<pid_t>(connected.shim_pid());
    REQUIRE(shim_pid_ > 0);
  }
  ~ShimFixture() {
    ShutdownRequest shutdown;
    shutdown.set_now(true);
    google::protobuf::Empty empty;
    gantry::contd::CallShim(socket_, "Shutdown", shutdown, &empty).IgnoreError();
    int status = 0;
    ::waitpid(shim_pid_, &status, 0);
  }

  template <typename Response>
  Response Call(const std::string& method, const google::protobuf::MessageLite& request) {
    Response response;
    absl::Status status = gantry::contd::CallShim(socket_, method, request, &response);
    INFO(method << ": " << status.ToString());
    REQUIRE(status.ok());
    return response;
  }
  absl::Status TryCall(const std::string& method, const google::protobuf::MessageLite& request) {
    google::protobuf::Empty response;
    return gantry::contd::CallShim(socket_, method, request, &response);
  }

  CreateTaskRequest CreateRequest() const {
    CreateTaskRequest request;
    request.set_id(id_);
    request.set_bundle(env_.bundle());
    return request;
  }
  uint32_t Create(const CreateTaskRequest& request) {
    return Call<CreateTaskResponse>("Create", request).pid();
  }
  uint32_t Start(const std::string& exec_id = "") {
    StartRequest request;
    request.set_id(id_);
    request.set_exec_id(exec_id);
    return Call<StartResponse>("Start", request).pid();
  }
  WaitResponse Wait(const std::string& exec_id = "") {
    WaitRequest request;
    request.set_id(id_);
    request.set_exec_id(exec_id);
    return Call<WaitResponse>("Wait", request);
  }
  DeleteResponse Delete(const std::string& exec_id = "") {
    DeleteRequest request;
    request.set_id(id_);
    request.set_exec_id(exec_id);
    return Call<DeleteResponse>("Delete", request);
  }
  StateResponse State(const std::string& exec_id = "") {
    StateRequest request;
    request.set_id(id_);
    request.set_exec_id(exec_id);
    return Call<StateResponse>("State", request);
  }

  OcirunEnv env_;
  std::string id_;
  std::string socket_;
  pid_t shim_pid_ = -1;
};

std::vector<gantry::JsonLogRecord> ReadLog(const std::string& path, int max_file = 1) {
  gantry::JsonLogReadOptions options;
  options.max_file = max_file;
  absl::StatusOr<std::vector<gantry::JsonLogRecord>> records = gantry::ReadJsonLog(path, options);
  REQUIRE(records.ok());
  return *records;
}

std::string Joined(const std::vector<gantry::JsonLogRecord>& records, const std::string& stream) {
  std::string text;
  for (const auto& record : records) {
    if (record.stream == stream) text += record.log;
  }
  return text;
}

}  // namespace

TEST_CASE("a task's output is logged as json-file and its exit status recorded", "[shim]") {
  ShimFixture shim;
  shim.env_.SetScript("echo out-line; echo err-line >&2; exit 7");
  CreateTaskRequest request = shim.CreateRequest();
  const std::string log_path = shim.env_.dir() + "/container.log";
  request.mutable_log()->set_path(log_path);
  request.set_stdout(shim.env_.dir() + "/stdout.txt");
  ocirun_test::WriteFile(shim.env_.dir() + "/stdout.txt", "");
  const uint32_t pid = shim.Create(request);
  REQUIRE(pid > 0);
  CHECK(shim.State().status() == gantry::contd::v1::TASK_STATUS_CREATED);
  CHECK(shim.Start() == pid);

  const WaitResponse exited = shim.Wait();
  CHECK(exited.exit_status() == 7);
  CHECK(exited.exited_at().seconds() > 0);
  CHECK(shim.State().status() == gantry::contd::v1::TASK_STATUS_STOPPED);

  const auto records = ReadLog(log_path);
  CHECK(Joined(records, "stdout") == "out-line\n");
  CHECK(Joined(records, "stderr") == "err-line\n");
  CHECK(ocirun_test::ReadFile(shim.env_.dir() + "/stdout.txt") == "out-line\n");
  // The exit is on disk for a contd that finds the shim gone.
  auto exit_file = ocirun_test::ReadFile(shim.env_.bundle() + "/exit.json");
  REQUIRE(exit_file);
  CHECK(nlohmann::json::parse(*exit_file)["exit_status"] == 7);

  const DeleteResponse deleted = shim.Delete();
  CHECK(deleted.exit_status() == 7);
  CHECK(deleted.pid() == pid);
  StateRequest state;
  state.set_id(shim.id_);
  CHECK(shim.TryCall("State", state).code() == absl::StatusCode::kNotFound);
}

TEST_CASE("the shim's events report exits to a long poll", "[shim]") {
  ShimFixture shim;
  shim.env_.SetScript("sleep 0.3; exit 3");
  shim.Create(shim.CreateRequest());
  std::thread poll([&] {
    EventsRequest request;
    EventsResponse events = shim.Call<EventsResponse>("Events", request);
    REQUIRE(events.events_size() == 1);
    CHECK(events.events(0).kind() == ShimEvent::KIND_EXIT);
    CHECK(events.events(0).exit_status() == 3);
    CHECK(events.events(0).seq() == 1);
  });
  shim.Start();
  poll.join();
  // Kept for a client that polls later.
  EventsRequest again;
  CHECK(shim.Call<EventsResponse>("Events", again).events_size() == 1);
  shim.Delete();
}

TEST_CASE("stdin FIFO, CloseIO and a chatty process that nobody reads", "[shim]") {
  ShimFixture shim;
  shim.env_.SetScript("cat; seq 1 20000; echo done");
  CreateTaskRequest request = shim.CreateRequest();
  const std::string in = shim.env_.dir() + "/in.fifo";
  const std::string out = shim.env_.dir() + "/out.fifo";
  REQUIRE(::mkfifo(in.c_str(), 0600) == 0);
  REQUIRE(::mkfifo(out.c_str(), 0600) == 0);
  request.set_stdin(in);
  request.set_stdout(out);  // nobody ever reads it: the process must not block
  request.mutable_log()->set_path(shim.env_.dir() + "/log.json");
  shim.Create(request);
  shim.Start();
  {
    gantry::UniqueFd writer(::open(in.c_str(), O_WRONLY | O_CLOEXEC));
    REQUIRE(writer);
    REQUIRE(::write(writer.get(), "from-stdin\n", 11) == 11);
  }
  // Closing our writer is not EOF (the shim holds the FIFO); CloseIO is.
  CloseIORequest close;
  close.set_id(shim.id_);
  close.set_stdin(true);
  REQUIRE(shim.TryCall("CloseIO", close).ok());
  CHECK(shim.Wait().exit_status() == 0);
  const std::string logged = Joined(ReadLog(shim.env_.dir() + "/log.json"), "stdout");
  CHECK(logged.rfind("from-stdin\n1\n2\n", 0) == 0);
  CHECK(logged.find("\n20000\ndone\n") != std::string::npos);
  shim.Delete();
}

TEST_CASE("a terminal task and exec processes with and without a pty", "[shim]") {
  ShimFixture shim;
  shim.env_.config()["process"]["terminal"] = true;
  shim.env_.SetScript("tty; sleep 1000");
  CreateTaskRequest request = shim.CreateRequest();
  request.set_terminal(true);
  const std::string log_path = shim.env_.dir() + "/log.json";
  request.mutable_log()->set_path(log_path);
  shim.Create(request);
  shim.Start();
  REQUIRE(Eventually([&] {
    auto records = gantry::ReadJsonLog(log_path);
    return records.ok() && Joined(*records, "stdout").find("/dev/pts/") != std::string::npos;
  }));

  ResizePtyRequest resize;
  resize.set_id(shim.id_);
  resize.set_width(123);
  resize.set_height(45);
  REQUIRE(shim.TryCall("ResizePty", resize).ok());

  // Exec without a terminal, output to a file.
  const std::string exec_out = shim.env_.dir() + "/exec.out";
  ocirun_test::WriteFile(exec_out, "");
  ExecProcessRequest exec;
  exec.set_id(shim.id_);
  exec.set_exec_id("plain");
  exec.set_stdout(exec_out);
  *exec.mutable_spec() = ProcessSpec({"sh", "-c", "echo exec-output; exit 5"});
  REQUIRE(shim.TryCall("Exec", exec).ok());
  CHECK(shim.TryCall("Exec", exec).code() == absl::StatusCode::kAlreadyExists);
  CHECK(shim.Start("plain") > 0);
  CHECK(shim.Wait("plain").exit_status() == 5);
  CHECK(ocirun_test::ReadFile(exec_out) == "exec-output\n");
  CHECK(shim.Delete("plain").exit_status() == 5);

  // Exec on a pty: the size set on it is what the process sees.
  const std::string tty_out = shim.env_.dir() + "/tty.out";
  ocirun_test::WriteFile(tty_out, "");
  exec.set_exec_id("tty");
  exec.set_terminal(true);
  exec.set_stdout(tty_out);
  *exec.mutable_spec() = ProcessSpec({"sh", "-c", "sleep 0.5; stty size"}, true);
  REQUIRE(shim.TryCall("Exec", exec).ok());
  shim.Start("tty");
  resize.set_exec_id("tty");
  resize.set_width(80);
  resize.set_height(24);
  REQUIRE(shim.TryCall("ResizePty", resize).ok());
  CHECK(shim.Wait("tty").exit_status() == 0);
  CHECK(ocirun_test::Trim(*ocirun_test::ReadFile(tty_out)) == "24 80");
  shim.Delete("tty");

  // The exec output went to its own files, not the container's log.
  CHECK(Joined(ReadLog(log_path), "stdout").find("exec-output") == std::string::npos);

  PidsRequest pids;
  pids.set_id(shim.id_);
  CHECK(shim.Call<PidsResponse>("Pids", pids).processes_size() >= 1);

  DeleteRequest running;
  running.set_id(shim.id_);
  CHECK(shim.TryCall("Delete", running).code() == absl::StatusCode::kFailedPrecondition);
  KillRequest kill;
  kill.set_id(shim.id_);
  kill.set_signal(SIGKILL);
  REQUIRE(shim.TryCall("Kill", kill).ok());
  CHECK(shim.Wait().exit_status() == 128 + SIGKILL);
  shim.Delete();
}

TEST_CASE("pause and resume, stats, kill, and bad requests", "[shim]") {
  ShimFixture shim;
  shim.env_.SetScript("sleep 1000");
  const uint32_t pid = shim.Create(shim.CreateRequest());
  CHECK(shim.TryCall("Create", shim.CreateRequest()).code() == absl::StatusCode::kAlreadyExists);
  StartRequest unknown;
  unknown.set_id(shim.id_);
  unknown.set_exec_id("nope");
  CHECK(shim.TryCall("Start", unknown).code() == absl::StatusCode::kNotFound);
  shim.Start();

  PauseRequest pause;
  pause.set_id(shim.id_);
  REQUIRE(shim.TryCall("Pause", pause).ok());
  CHECK(shim.State().status() == gantry::contd::v1::TASK_STATUS_PAUSED);
  ResumeRequest resume;
  resume.set_id(shim.id_);
  REQUIRE(shim.TryCall("Resume", resume).ok());
  CHECK(shim.State().status() == gantry::contd::v1::TASK_STATUS_RUNNING);

  StatsRequest stats;
  stats.set_id(shim.id_);
  StatsResponse metrics = shim.Call<StatsResponse>("Stats", stats);
  CHECK(nlohmann::json::parse(metrics.stats().value()).contains("pids"));

  KillRequest kill;
  kill.set_id(shim.id_);
  // The init is pid 1 of its namespace, which ignores SIGTERM unless handled.
  kill.set_signal(SIGKILL);
  REQUIRE(shim.TryCall("Kill", kill).ok());
  CHECK(shim.Wait().exit_status() == 128 + SIGKILL);
  CHECK(shim.TryCall("Kill", kill).code() == absl::StatusCode::kNotFound);
  CHECK(shim.Delete().pid() == pid);
  CHECK_FALSE(ocirun_test::ProcessAlive(static_cast<pid_t>(pid)));
}

TEST_CASE("the log rotates at max-size keeping max-file files", "[shim]") {
  ShimFixture shim;
  shim.env_.SetScript("seq 1 3000");
  CreateTaskRequest request = shim.CreateRequest();
  const std::string log_path = shim.env_.dir() + "/rotating.log";
  request.mutable_log()->set_path(log_path);
  request.mutable_log()->set_max_size(8192);
  request.mutable_log()->set_max_file(3);
  shim.Create(request);
  shim.Start();
  CHECK(shim.Wait().exit_status() == 0);
  struct stat info {};
  REQUIRE(::stat((log_path + ".1").c_str(), &info) == 0);
  CHECK(info.st_size <= 8192);
  REQUIRE(::stat((log_path + ".2").c_str(), &info) == 0);
  CHECK(::stat((log_path + ".3").c_str(), &info) != 0);
  // What is kept is the end of the output, in order and without a gap.
  const std::string kept = Joined(ReadLog(log_path, 3), "stdout");
  std::vector<std::string> lines = absl::StrSplit(kept, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() > 100);
  CHECK(lines.back() == "3000");
  for (size_t i = 1; i < lines.size(); ++i) {
    CHECK(std::stoi(lines[i]) == std::stoi(lines[i - 1]) + 1);
  }
  shim.Delete();
}

TEST_CASE("SIGTERM does not take a running container's shim away", "[shim]") {
  ShimFixture shim;
  shim.env_.SetScript("sleep 1000");
  shim.Create(shim.CreateRequest());
  shim.Start();
  REQUIRE(::kill(shim.shim_pid_, SIGTERM) == 0);
  // Still serving, the task still running.
  CHECK(shim.State().status() == gantry::contd::v1::TASK_STATUS_RUNNING);
  KillRequest kill;
  kill.set_id(shim.id_);
  kill.set_signal(SIGKILL);
  REQUIRE(shim.TryCall("Kill", kill).ok());
  shim.Wait();
  shim.Delete();
  // With nothing left to keep, the signal ends it.
  REQUIRE(::kill(shim.shim_pid_, SIGTERM) == 0);
  int status = 0;
  REQUIRE(::waitpid(shim.shim_pid_, &status, 0) == shim.shim_pid_);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_FALSE(ocirun_test::Exists(shim.socket_));
}
