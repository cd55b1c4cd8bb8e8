// gantry exec: a command in a running container, attached (its output, our
// stdin with -i, a TTY with -t) or detached (-d); its exit code is ours.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/commands/attach_session.h"
#include "cli/commands/command_context.h"
#include "cli/terminal/terminal.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

struct ExecFlags {
  bool detach = false;
  bool interactive = false;
  bool tty = false;
  bool privileged = false;
  std::vector<std::string> env;
  std::string workdir;
  std::string user;
  std::vector<std::string> args;  // CONTAINER COMMAND [ARG...]
};

absl::StatusOr<int> Exec(CommandContext& context, const ExecFlags& flags) {
  EngineClient& client = context.client();
  if (flags.args.size() < 2) {
    return WithExitCode(absl::InvalidArgumentError(
                            "gantry: \"exec\" requires at least 2 arguments: CONTAINER COMMAND"),
                        kExitEngineError);
  }
  if (flags.tty && flags.interactive && !IsTerminal(STDIN_FILENO)) {
    return absl::InvalidArgumentError("the input device is not a TTY");
  }
  nlohmann::json config = {
      {"AttachStdin", flags.interactive && !flags.detach},
      {"AttachStdout", !flags.detach},
      {"AttachStderr", !flags.detach},
      {"Tty", flags.tty},
      {"Cmd", std::vector<std::string>(flags.args.begin() + 1, flags.args.end())},
      {"Env", flags.env},
      {"WorkingDir", flags.workdir},
      {"User", flags.user},
      {"Privileged", flags.privileged},
  };
  GANTRY_ASSIGN_OR_RETURN(
      nlohmann::json created,
      client.CallJson("POST", absl::StrCat("/containers/", QueryEscape(flags.args[0]), "/exec"),
                      config));
  const std::string id = created.value("Id", "");
  if (flags.detach) {
    GANTRY_RETURN_IF_ERROR(
        client.Call("POST", absl::StrCat("/exec/", id, "/start"), nlohmann::json{{"Detach", true}})
            .status());
    return 0;
  }
  GANTRY_ASSIGN_OR_RETURN(
      std::unique_ptr<AttachSession> session,
      AttachSession::OpenExec(client, id,
                              {.stdin = flags.interactive, .tty = flags.tty, .exec = true}));
  session->ForwardSignals();       // the window size, now and on SIGWINCH
  if (session->Relay()) return 0;  // detached with ctrl-p ctrl-q
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json inspect,
                          client.CallJson("GET", absl::StrCat("/exec/", id, "/json")));
  return inspect.value("ExitCode", nlohmann::json(0)).is_number_integer()
             ? inspect["ExitCode"].get<int>()
             : 0;
}

}  // namespace

void AddExecCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<ExecFlags>();
  CLI::App* command = app.add_subcommand("exec", "Execute a command in a running container");
  command->add_flag("-d,--detach", flags->detach, "Detached mode: run command in the background");
  command->add_flag("-i,--interactive", flags->interactive, "Keep STDIN open even if not attached");
  command->add_flag("-t,--tty", flags->tty, "Allocate a pseudo-TTY");
  command->add_flag("--privileged", flags->privileged, "Give extended privileges to the command");
  command->add_option("-e,--env", flags->env, "Set environment variables");
  command->add_option("-w,--workdir", flags->workdir, "Working directory inside the container");
  command->add_option("-u,--user", flags->user,
                      "Username or UID (format: <name|uid>[:<group|gid>])");
  // CONTAINER COMMAND [ARG...]: from the first positional on, everything
  // (the command's own flags included) is left for the command.
  command->prefix_command();
  context.OnRun(command, [&context, flags, command] {
    flags->args = command->remaining();
    return Exec(context, *flags);
  });
}

}  // namespace gantry::cli
