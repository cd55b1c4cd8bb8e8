#include "common/errors.h"
#include "common/json_util.h"
#include "ocirun/cli/commands.h"
#include "ocirun/lib/sealed_exe.h"
#include "ocirun/lib/state.h"

namespace ocirun::cli {

void RegisterExec(CLI::App& app, Invocation& inv) {
  static ExecOptions o;
  auto* cmd = app.add_subcommand("exec", "execute a new process inside a container");
  cmd->add_option("-p,--process", o.process_file, "process.json describing the process");
  cmd->add_flag("-t,--tty", o.tty, "allocate a pseudo-TTY");
  cmd->add_flag("-d,--detach", o.detach, "detach from the process");
  cmd->add_option("--pid-file", o.pid_file, "file to write the process's pid to");
  cmd->add_option("--console-socket", o.console_socket, "unix socket to receive the pty master");
  // Repeatable, one value each (runc's flags), never swallowing the id after them.
  cmd->add_option("-e,--env", o.env, "set an environment variable (NAME=value)")
      ->allow_extra_args(false);
  cmd->add_option("--cwd", o.cwd, "working directory in the container");
  cmd->add_option("-u,--user", o.user, "uid[:gid] to run as");
  cmd->add_option("-c,--cap", o.caps, "add a capability to the process's sets")
      ->allow_extra_args(false);
  cmd->add_flag("--no-new-privs", o.no_new_privs, "set no_new_privs for the process");
  cmd->add_option("--preserve-fds", o.preserve_fds, "extra descriptors (from 3) to pass on");
  cmd->add_option("id", o.id, "container id")->required();
  cmd->add_option("command", o.args, "command and arguments");
  // Everything after the id belongs to the command, flags included.
  cmd->positionals_at_end();
  cmd->prefix_command();
  cmd->callback([&inv, cmd] {
    for (const auto& extra : cmd->remaining()) o.args.push_back(extra);
    inv.needs_unwritable_exe = [&inv] {
      absl::StatusOr<Process> process = ExecProcess(inv.global, o);
      absl::StatusOr<nlohmann::json> config =
          gantry::ReadJsonFile(StateStore(inv.global.root).ConfigCopy(o.id));
      // Errors are reported by the command itself, naming what failed.
      return process.ok() && config.ok() &&
             NeedsUnwritableExe(*config, process->capabilities ? process->capabilities->bounding
                                                               : std::vector<std::string>{});
    };
    inv.action = [&inv]() -> absl::StatusOr<int> {
      GANTRY_ASSIGN_OR_RETURN(Process process, ExecProcess(inv.global, o));
      Relay relay;
      if (!o.detach && o.console_socket.empty()) {
        GANTRY_ASSIGN_OR_RETURN(relay, Relay::Make());
        o.console_socket_fd = relay.child_end();
      }
      GANTRY_ASSIGN_OR_RETURN(pid_t pid, ExecInContainer(inv.global, o, process));
      if (o.detach) return 0;
      return relay.Run(pid, process.terminal);
    };
  });
}

}  // namespace ocirun::cli
