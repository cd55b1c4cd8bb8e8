// gantry create and gantry run: a container from flags, the image pulled
// when missing, and for run the attach, start and exit status.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/commands/attach_session.h"
#include "cli/commands/command_context.h"
#include "cli/commands/container_config.h"
#include "cli/commands/image_pull.h"
#include "cli/terminal/terminal.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

// Creates the container, pulling its image first when engined has none (as
// docker does: "Unable to find image 'busybox:latest' locally").
absl::StatusOr<std::string> CreateContainer(EngineClient& client, const ContainerFlags& flags) {
  GANTRY_ASSIGN_OR_RETURN(json body, CreateContainerBody(flags));
  const std::string path = absl::StrCat(
      "/containers/create", flags.name.empty() ? "" : "?name=" + QueryEscape(flags.name));
  absl::StatusOr<json> created = client.CallJson("POST", path, body);
  if (!created.ok() && created.status().code() == absl::StatusCode::kNotFound &&
      absl::StrContains(created.status().message(), "No such image")) {
    const std::string reference = WithDefaultTag(flags.image());
    std::cerr << "Unable to find image '" << reference << "' locally\n";
    GANTRY_RETURN_IF_ERROR(
        PullImage(client, reference, std::cerr, IsTerminal(STDERR_FILENO), /*quiet=*/false));
    created = client.CallJson("POST", path, body);
  }
  if (!created.ok()) return created.status();
  for (const json& warning : created->value("Warnings", json::array())) {
    if (warning.is_string()) std::cerr << "WARNING: " << warning.get<std::string>() << "\n";
  }
  return created->value("Id", "");
}

// run's errors as docker reports them: prefixed, with 125 for the engine,
// 126/127 when the command cannot be run or found.
absl::Status RunError(const absl::Status& status, int code = kExitEngineError) {
  if (status.code() == absl::StatusCode::kUnavailable) return status;
  return WithExitCode(absl::Status(status.code(), absl::StrCat("gantry: ", status.message())),
                      code);
}

int StartFailureCode(const absl::Status& status) {
  const absl::string_view message = status.message();
  if (absl::StrContains(message, "not found") ||
      absl::StrContains(message, "no such file or directory")) {
    return kExitNotFound;
  }
  if (absl::StrContains(message, "permission denied")) return kExitCannotInvoke;
  return kExitEngineError;
}

absl::StatusOr<int> Create(CommandContext& context, const ContainerFlags& flags) {
  absl::StatusOr<std::string> id = CreateContainer(context.client(), flags);
  if (!id.ok()) return RunError(id.status());
  std::cout << *id << "\n";
  return 0;
}

absl::StatusOr<int> Run(CommandContext& context, const ContainerFlags& flags) {
  EngineClient& client = context.client();
  if (flags.tty && flags.interactive && !IsTerminal(STDIN_FILENO)) {
    return absl::InvalidArgumentError("the input device is not a TTY");
  }
  absl::StatusOr<std::string> id = CreateContainer(client, flags);
  if (!id.ok()) return RunError(id.status());
  const std::string start_path = absl::StrCat("/containers/", *id, "/start");
  if (flags.detach) {
    if (absl::Status started = client.Call("POST", start_path).status(); !started.ok()) {
      return RunError(started, StartFailureCode(started));
    }
    std::cout << *id << "\n";
    return 0;
  }
  absl::StatusOr<int> code =
      AttachAndWait(client, *id, {.stdin = flags.interactive, .tty = flags.tty},
                    flags.auto_remove ? "removed" : "next-exit", [&]() -> absl::Status {
                      absl::Status started = client.Call("POST", start_path).status();
                      return started.ok() ? started : RunError(started, StartFailureCode(started));
                    });
  if (!code.ok() && ExitCodeOf(code.status()) == 1) return RunError(code.status());
  return code;
}

void AddCreateLike(CLI::App& app, CommandContext& context, const std::string& name,
                   const std::string& description, bool run) {
  auto flags = std::make_shared<ContainerFlags>();
  CLI::App* command = app.add_subcommand(name, description);
  AddContainerFlags(*command, *flags);
  if (run)
    command->add_flag("-d,--detach", flags->detach,
                      "Run container in background and print container ID");
  context.OnRun(command, [&context, flags, command, run]() -> absl::StatusOr<int> {
    flags->args = command->remaining();
    if (flags->args.empty()) {
      return WithExitCode(absl::InvalidArgumentError(absl::StrCat(
                              "gantry: \"", command->get_name(),
                              "\" requires at least 1 argument: IMAGE [COMMAND] [ARG...]")),
                          kExitEngineError);
    }
    return run ? Run(context, *flags) : Create(context, *flags);
  });
}

}  // namespace

void AddRunCommands(CLI::App& app, CommandContext& context) {
  AddCreateLike(app, context, "create", "Create a new container", false);
  AddCreateLike(app, context, "run", "Create and run a new container from an image", true);
}

void AddUnsupportedCommands(CLI::App& app, CommandContext& context) {
  for (const char* name : {"update", "export", "build"}) {
    CLI::App* command = app.add_subcommand(name, "(not supported by this engined yet)");
    command->allow_extras();
    command->prefix_command();
    context.OnRun(command, [name]() -> absl::StatusOr<int> {
      return absl::UnimplementedError(
          absl::StrCat("gantry ", name, ": not supported by this engined yet"));
    });
  }
}

}  // namespace gantry::cli
