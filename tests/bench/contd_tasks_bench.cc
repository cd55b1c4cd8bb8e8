// The Gantry side of tests/bench/shim_memory.sh: a private contd runs N idle
// busybox containers (one contd-shim each), and this prints what the shims
// cost: Pss per container from /proc/PID/smaps_rollup, threads, the time
// from Tasks.Create to a running task, and a bare shim's start-to-ready
// latency. Everything is deleted afterwards and checked.
//
// usage: contd_tasks_bench BUILD_DIR FIXTURES_DIR N
// Last line: GANTRY_PSS_KB=<Pss per container in kB>, for the script.
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "contd/tasks/shim_launcher.h"
#include "contd/v1/containers.grpc.pb.h"
#include "contd/v1/tasks.grpc.pb.h"
#include "shim/v1/shim.pb.h"

extern char** environ;

namespace {

namespace v1 = gantry::contd::v1;
using Clock = std::chrono::steady_clock;

// The private contd, stopped on the way out even when the bench fails (its
// shims and containers are left for a look, and named).
pid_t contd = 0;

[[noreturn]] void Die(const std::string& why) {
  std::cerr << "contd_tasks_bench: " << why << "\n";
  if (contd > 0) ::kill(contd, SIGTERM);
  std::exit(1);
}

std::string Absolute(const char* path) {
  char resolved[PATH_MAX];
  if (!::realpath(path, resolved)) Die(absl::StrCat(path, ": ", std::strerror(errno)));
  return resolved;
}

std::string Slurp(const std::string& path) {
  absl::StatusOr<std::string> text = gantry::ReadFile(path);
  return text.ok() ? *text : "";
}

// "Key:   123 kB" from /proc/PID/smaps_rollup or status.
long Field(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream value(line.substr(key.size() + 1));
      long n = 0;
      value >> n;
      return n;
    }
  }
  return 0;
}

double MedianMs(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("containerd-namespace", "bench");
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return context;
}

void Check(const grpc::Status& status, const std::string& what) {
  if (!status.ok()) Die(absl::StrCat(what, ": ", status.error_message()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) Die("usage: contd_tasks_bench BUILD_DIR FIXTURES_DIR N");
  const std::string build = Absolute(argv[1]);
  const std::string fixtures = Absolute(argv[2]);
  int count = 0;
  if (!absl::SimpleAtoi(argv[3], &count) || count < 1) Die("N: a positive number");
  // Shims are reparented to us (not to a PID 1 that may never reap).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  char dir_template[] = "/tmp/gantry-bench-contd-XXXXXX";
  if (!::mkdtemp(dir_template)) Die("mkdtemp");
  const std::string dir = dir_template;
  const std::string socket = dir + "/contd.sock";
  std::vector<std::string> args = {build + "/contd/contd",
                                   "--root",
                                   dir + "/root",
                                   "--state",
                                   dir + "/state",
                                   "--address",
                                   socket,
                                   "--shim",
                                   build + "/shim/contd-shim",
                                   "--runtime",
                                   build + "/ocirun/ocirun"};
  std::vector<char*> raw;
  for (auto& arg : args) raw.push_back(arg.data());
  raw.push_back(nullptr);
  if (::posix_spawn(&contd, raw[0], nullptr, nullptr, raw.data(), environ) != 0) Die("spawn contd");
  auto channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  for (int i = 0; i < 500 && ::access(socket.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    Die("contd does not answer");
  }
  auto containers = v1::Containers::NewStub(channel);
  auto tasks = v1::Tasks::NewStub(channel);

  // A bare shim: fork+exec to serving its socket.
  std::vector<double> shim_ready_ms;
  gantry::MakeDirs(dir + "/bare").IgnoreError();
  for (int i = 0; i < 20; ++i) {
    const auto begin = Clock::now();
    absl::Status launched = gantry::contd::LaunchShim(
        {build + "/shim/contd-shim", build + "/ocirun/ocirun", dir + "/bare-root", "bench", "bare",
         dir + "/bare", dir + "/bare.sock"});
    if (!launched.ok()) Die(std::string(launched.message()));
    shim_ready_ms.push_back(Ms(Clock::now() - begin));
    gantry::shim::v1::ShutdownRequest shutdown;
    shutdown.set_now(true);
    google::protobuf::Empty empty;
    gantry::contd::CallShim(dir + "/bare.sock", "Shutdown", shutdown, &empty).IgnoreError();
    while (::access((dir + "/bare/shim.pid").c_str(), F_OK) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  nlohmann::json spec = nlohmann::json::parse(Slurp(fixtures + "/bundle/config.json"));
  spec["root"]["path"] = fixtures + "/bundle/rootfs";
  spec["root"]["readonly"] = true;
  spec["process"]["args"] = {"sleep", "1000000"};
  std::vector<std::string> ids;
  std::vector<double> start_ms;
  for (int i = 0; i < count; ++i) {
    const std::string id = absl::StrCat("gantry-bench-", ::getpid(), "-", i);
    v1::CreateContainerRequest create;
    create.mutable_container()->set_id(id);
    create.mutable_container()->mutable_runtime()->set_name("io.gantry.ocirun.v1");
    create.mutable_container()->mutable_spec()->set_type_url(
        "types.containerd.io/opencontainers/runtime-spec/1/Spec");
    create.mutable_container()->mutable_spec()->set_value(spec.dump());
    v1::CreateContainerResponse created;
    Check(containers->Create(Context().get(), create, &created), "Containers.Create");
    const auto begin = Clock::now();
    v1::CreateTaskRequest task;
    task.set_container_id(id);
    task.mutable_log()->set_path(absl::StrCat(dir, "/", id, ".log"));
    v1::CreateTaskResponse task_created;
    Check(tasks->Create(Context().get(), task, &task_created), "Tasks.Create");
    v1::StartTaskRequest start;
    start.set_container_id(id);
    v1::StartTaskResponse started;
    Check(tasks->Start(Context().get(), start, &started), "Tasks.Start");
    start_ms.push_back(Ms(Clock::now() - begin));
    ids.push_back(id);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // settled, idle

  long pss = 0, private_dirty = 0, threads = 0, shims = 0;
  std::vector<pid_t> shim_pids;
  for (const std::string& id : ids) {
    const std::string pid_text = Slurp(absl::StrCat(dir, "/state/tasks/bench/", id, "/shim.pid"));
    pid_t pid = 0;
    if (!absl::SimpleAtoi(pid_text, &pid)) Die("no shim.pid for " + id);
    const std::string rollup = Slurp(absl::StrCat("/proc/", pid, "/smaps_rollup"));
    pss += Field(rollup, "Pss");
    private_dirty += Field(rollup, "Private_Dirty");
    threads += Field(Slurp(absl::StrCat("/proc/", pid, "/status")), "Threads");
    shim_pids.push_back(pid);
    ++shims;
  }
  std::printf("gantry: %ld contd-shim processes for %d containers\n", shims, count);
  std::printf(
      "gantry: Pss total %ld kB, per container %ld kB (Private_Dirty %ld kB, %.1f threads per "
      "shim)\n",
      pss, pss / count, private_dirty / shims, static_cast<double>(threads) / shims);
  std::printf(
      "gantry: Tasks.Create+Start median %.1f ms; bare shim start-to-ready median %.1f ms\n",
      MedianMs(start_ms), MedianMs(shim_ready_ms));

  for (const std::string& id : ids) {
    v1::KillTaskRequest kill;
    kill.set_container_id(id);
    kill.set_signal(SIGKILL);
    google::protobuf::Empty empty;
    Check(tasks->Kill(Context().get(), kill, &empty), "Tasks.Kill");
    v1::WaitTaskRequest wait;
    wait.set_container_id(id);
    v1::WaitTaskResponse waited;
    Check(tasks->Wait(Context().get(), wait, &waited), "Tasks.Wait");
    v1::DeleteTaskRequest remove;
    remove.set_container_id(id);
    v1::DeleteTaskResponse removed;
    Check(tasks->Delete(Context().get(), remove, &removed), "Tasks.Delete");
    v1::DeleteContainerRequest remove_container;
    remove_container.set_id(id);
    Check(containers->Delete(Context().get(), remove_container, &empty), "Containers.Delete");
  }
  ::kill(contd, SIGTERM);
  ::waitpid(contd, nullptr, 0);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  int left = 0;
  for (pid_t pid : shim_pids) left += ::kill(pid, 0) == 0;
  if (left) Die(absl::StrCat(left, " shims still running after their tasks were deleted"));
  if (Slurp("/proc/self/mountinfo").find(dir) != std::string::npos) Die("mounts left under " + dir);
  gantry::RemoveTree(dir).IgnoreError();
  std::printf("gantry: cleaned up (no shim, mount or state left)\nGANTRY_PSS_KB=%ld\n",
              pss / count);
  return 0;
}
