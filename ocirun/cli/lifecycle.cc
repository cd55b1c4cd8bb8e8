#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/json_util.h"
#include "ocirun/cli/commands.h"
#include "ocirun/lib/process_util.h"
#include "ocirun/lib/sealed_exe.h"
#include "ocirun/lib/state.h"

namespace ocirun::cli {
namespace {

void AddCreateFlags(CLI::App* cmd, CreateOptions& o) {
  cmd->add_option("-b,--bundle", o.bundle, "path to the root of the bundle directory")
      ->capture_default_str();
  cmd->add_option("--pid-file", o.pid_file, "file to write the container init's pid to");
  cmd->add_option("--console-socket", o.console_socket,
                  "unix socket to receive the pty master of a terminal container");
  cmd->add_flag("--no-pivot", o.no_pivot, "do not use pivot_root (for ramdisk roots)");
  cmd->add_flag("--no-new-keyring", o.no_new_keyring, "do not create a new session keyring");
  cmd->add_option("--preserve-fds", o.preserve_fds,
                  "number of extra descriptors (from 3) passed to the container");
  cmd->add_option("id", o.id, "container id")->required();
}

// create and run: decided from the bundle's config.json (an unreadable one
// fails the command later, with the error that names it).
std::function<bool()> NeedsUnwritableExeFor(const CreateOptions& o) {
  return [&o] {
    absl::StatusOr<nlohmann::json> config =
        gantry::ReadJsonFile(absl::StrCat(o.bundle, "/config.json"));
    if (!config.ok() || !config->is_object()) return false;
    // Read without operator[] on const json, which asserts on a missing key.
    std::vector<std::string> bounding;
    const nlohmann::json process = config->value("process", nlohmann::json::object());
    const nlohmann::json caps =
        process.is_object() ? process.value("capabilities", nlohmann::json()) : nlohmann::json();
    if (caps.is_object()) {
      for (const auto& cap : caps.value("bounding", nlohmann::json::array())) {
        if (cap.is_string()) bounding.push_back(cap.get<std::string>());
      }
    }
    return NeedsUnwritableExe(*config, bounding);
  };
}

}  // namespace

void RegisterLifecycle(CLI::App& app, Invocation& inv) {
  static CreateOptions create;
  auto* create_cmd = app.add_subcommand("create", "create a container");
  AddCreateFlags(create_cmd, create);
  create_cmd->callback([&inv] {
    inv.needs_unwritable_exe = NeedsUnwritableExeFor(create);
    inv.action = [&inv]() -> absl::StatusOr<int> {
      GANTRY_RETURN_IF_ERROR(CreateContainer(inv.global, create).status());
      return 0;
    };
  });

  static std::string start_id;
  auto* start_cmd = app.add_subcommand("start", "start a created container");
  start_cmd->add_option("id", start_id, "container id")->required();
  start_cmd->callback([&inv] {
    inv.action = [&inv]() -> absl::StatusOr<int> {
      GANTRY_RETURN_IF_ERROR(StartContainer(inv.global, start_id));
      return 0;
    };
  });

  static CreateOptions run;
  static bool detach = false, keep = false;
  auto* run_cmd = app.add_subcommand("run", "create and start a container");
  AddCreateFlags(run_cmd, run);
  run_cmd->add_flag("-d,--detach", detach, "detach from the container's process");
  run_cmd->add_flag("--keep", keep, "do not delete the container after it exits");
  run_cmd->callback([&inv] {
    inv.needs_unwritable_exe = NeedsUnwritableExeFor(run);
    inv.action = [&inv]() -> absl::StatusOr<int> {
      // In the foreground without --console-socket, a terminal container's
      // pty comes to us and we relay it, as runc does.
      Relay relay;
      if (!detach && run.console_socket.empty()) {
        GANTRY_ASSIGN_OR_RETURN(relay, Relay::Make());
        run.console_socket_fd = relay.child_end();
      }
      GANTRY_ASSIGN_OR_RETURN(CreatedContainer created, CreateContainer(inv.global, run));
      if (!detach) {
        // Once the program runs, a signal to us is meant for it: keep signals
        // pending from before start until the relay forwards them, or one
        // sent right after start would kill us instead (runc, too, catches
        // them before it starts the process).
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, nullptr);
      }
      if (auto st = StartContainer(inv.global, run.id); !st.ok()) {
        (void)DeleteContainer(inv.global, run.id, true);
        return st;
      }
      if (detach) return 0;
      GANTRY_ASSIGN_OR_RETURN(int code, relay.Run(created.pid, created.terminal));
      if (!keep) GANTRY_RETURN_IF_ERROR(DeleteContainer(inv.global, run.id, true));
      return code;
    };
  });

  static std::string delete_id;
  static bool force = false;
  auto* delete_cmd = app.add_subcommand("delete", "delete a container and its resources");
  delete_cmd->add_flag("-f,--force", force, "kill the container first if it is running");
  delete_cmd->add_option("id", delete_id, "container id")->required();
  delete_cmd->callback([&inv] {
    inv.action = [&inv]() -> absl::StatusOr<int> {
      GANTRY_RETURN_IF_ERROR(DeleteContainer(inv.global, delete_id, force));
      return 0;
    };
  });

  static std::string kill_id, kill_signal = "SIGTERM";
  static bool kill_all = false;
  auto* kill_cmd = app.add_subcommand("kill", "send a signal to the container's init");
  kill_cmd->add_flag("-a,--all", kill_all, "send the signal to every process of the container");
  kill_cmd->add_option("id", kill_id, "container id")->required();
  kill_cmd->add_option("signal", kill_signal, "signal name or number (default SIGTERM)");
  kill_cmd->callback([&inv] {
    inv.action = [&inv]() -> absl::StatusOr<int> {
      GANTRY_ASSIGN_OR_RETURN(int sig, ParseSignal(kill_signal));
      GANTRY_RETURN_IF_ERROR(KillContainer(inv.global, kill_id, sig, kill_all));
      return 0;
    };
  });
}

}  // namespace ocirun::cli
