// gantry ps, logs, inspect, top, start, stop, restart, kill, rm, pause,
// unpause, rename, wait, attach: containers that exist already.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "cli/client/stdcopy.h"
#include "cli/commands/attach_session.h"
#include "cli/commands/command_context.h"
#include "cli/commands/list_rows.h"
#include "cli/format/table.h"
#include "cli/format/template.h"
#include "cli/format/units.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

}  // namespace

namespace {

struct PsFlags {
  bool all = false;
  bool quiet = false;
  bool no_trunc = false;
  bool latest = false;
  bool size = false;
  int last = -1;
  std::vector<std::string> filters;
  std::string format;
};

absl::StatusOr<int> Ps(CommandContext& context, const PsFlags& flags) {
  GANTRY_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(flags.filters));
  const int limit = flags.latest ? 1 : flags.last;
  std::string query = absl::StrCat("/containers/json?all=", flags.all ? "1" : "0", filters);
  if (limit > 0) absl::StrAppend(&query, "&limit=", limit);
  if (flags.size) absl::StrAppend(&query, "&size=1");
  GANTRY_ASSIGN_OR_RETURN(json containers, context.client().CallJson("GET", query));
  std::vector<json> rows;
  for (const json& c : containers) rows.push_back(ContainerRow(c, flags.no_trunc));
  if (flags.quiet) {
    for (const json& row : rows) std::cout << row["ID"].get<std::string>() << "\n";
    return 0;
  }
  std::string table = kPsTable;
  if (flags.size) table += "\t{{.Size}}";
  GANTRY_ASSIGN_OR_RETURN(std::string text,
                          FormatList(flags.format, rows, ContainerHeaders(), table));
  std::cout << text;
  return 0;
}

// The container's inspect JSON (for its TTY and id).
absl::StatusOr<json> InspectContainer(EngineClient& client, const std::string& name) {
  return client.CallJson("GET", absl::StrCat("/containers/", name, "/json"));
}

bool HasTty(const json& inspect) {
  return inspect.contains("Config") && inspect["Config"].value("Tty", false);
}

struct LogsFlags {
  std::string container;
  bool follow = false;
  bool timestamps = false;
  std::string tail = "all";
  std::string since;
  std::string until;
};

absl::StatusOr<int> Logs(CommandContext& context, const LogsFlags& flags) {
  GANTRY_ASSIGN_OR_RETURN(json inspect, InspectContainer(context.client(), flags.container));
  std::string query = absl::StrCat(
      "/containers/", flags.container, "/logs?stdout=1&stderr=1&follow=", flags.follow ? "1" : "0",
      "&timestamps=", flags.timestamps ? "1" : "0", "&tail=", QueryEscape(flags.tail));
  if (!flags.since.empty()) absl::StrAppend(&query, "&since=", QueryEscape(flags.since));
  if (!flags.until.empty()) absl::StrAppend(&query, "&until=", QueryEscape(flags.until));
  GANTRY_ASSIGN_OR_RETURN(std::unique_ptr<ResponseStream> stream,
                          context.client().Open("GET", query));
  const bool tty = HasTty(inspect);
  StdcopyDemuxer demuxer([](int fd, absl::string_view data) {
    WriteAll(fd == 2 ? STDERR_FILENO : STDOUT_FILENO, data);
  });
  GANTRY_RETURN_IF_ERROR(stream->ReadBody([&](absl::string_view data) {
    if (tty) {
      WriteAll(STDOUT_FILENO, data);
    } else {
      demuxer.Feed(data);
    }
    return true;
  }));
  return 0;
}

struct InspectFlags {
  std::vector<std::string> names;
  std::string format;
  std::string type;
  bool size = false;
};

std::string InspectPath(absl::string_view type, const std::string& name, bool size) {
  if (type == "container") {
    return absl::StrCat("/containers/", name, "/json", size ? "?size=1" : "");
  }
  if (type == "image") return absl::StrCat("/images/", name, "/json");
  return absl::StrCat("/", type, "s/", name);
}

absl::StatusOr<int> Inspect(CommandContext& context, const InspectFlags& flags) {
  std::optional<Template> tmpl;
  if (!flags.format.empty()) {
    GANTRY_ASSIGN_OR_RETURN(tmpl, Template::Parse(flags.format));
  }
  json all = json::array();
  absl::Status failed;
  std::string rendered;
  for (const std::string& name : flags.names) {
    // Without --type, the first kind of object that has this name.
    absl::StatusOr<json> object = absl::NotFoundError("");
    for (const char* type : {"container", "image", "network", "volume"}) {
      if (!flags.type.empty() && flags.type != type) continue;
      object = context.client().CallJson("GET", InspectPath(type, name, flags.size));
      if (object.ok() || object.status().code() != absl::StatusCode::kNotFound) break;
    }
    if (!object.ok()) {
      if (object.status().code() != absl::StatusCode::kNotFound) return object.status();
      failed = flags.type.empty()
                   ? absl::NotFoundError(absl::StrCat("Error: No such object: ", name))
                   : object.status();
      std::cerr << failed.message() << "\n";
      continue;
    }
    if (tmpl.has_value()) {
      GANTRY_ASSIGN_OR_RETURN(std::string line, tmpl->Render(*object));
      absl::StrAppend(&rendered, line, "\n");
    } else {
      all.push_back(*object);
    }
  }
  std::cout << (tmpl.has_value() ? rendered : all.dump(4) + "\n");
  if (!failed.ok()) return WithExitCode(absl::CancelledError(""), 1);
  return 0;
}

absl::StatusOr<int> Top(CommandContext& context, const std::string& container,
                        const std::vector<std::string>& ps_args) {
  std::string query = absl::StrCat("/containers/", container, "/top");
  if (!ps_args.empty())
    absl::StrAppend(&query, "?ps_args=", QueryEscape(absl::StrJoin(ps_args, " ")));
  GANTRY_ASSIGN_OR_RETURN(json top, context.client().CallJson("GET", query));
  std::vector<std::string> lines;
  std::vector<std::string> titles;
  for (const json& t : top.value("Titles", json::array())) titles.push_back(GoString(t));
  lines.push_back(absl::StrJoin(titles, "\t"));
  for (const json& process : top.value("Processes", json::array())) {
    std::vector<std::string> cells;
    for (const json& cell : process) cells.push_back(GoString(cell));
    lines.push_back(absl::StrJoin(cells, "\t"));
  }
  std::cout << AlignColumns(absl::StrJoin(lines, "\n"), 20, 3) << "\n";
  return 0;
}

struct StartFlags {
  std::vector<std::string> containers;
  bool attach = false;
  bool interactive = false;
};

absl::StatusOr<int> Start(CommandContext& context, const StartFlags& flags) {
  EngineClient& client = context.client();
  if (!flags.attach && !flags.interactive) {
    return ForEachContainer(flags.containers, [&](const std::string& name) {
      return client.Call("POST", absl::StrCat("/containers/", name, "/start")).status();
    });
  }
  if (flags.containers.size() != 1) {
    return absl::InvalidArgumentError("you cannot start and attach multiple containers at once");
  }
  GANTRY_ASSIGN_OR_RETURN(json inspect, InspectContainer(client, flags.containers[0]));
  const std::string id = inspect.value("Id", "");
  return AttachAndWait(
      client, id,
      {.stdin = flags.interactive && inspect["Config"].value("OpenStdin", false),
       .tty = HasTty(inspect)},
      "next-exit",
      [&] { return client.Call("POST", absl::StrCat("/containers/", id, "/start")).status(); });
}

absl::StatusOr<int> Attach(CommandContext& context, const std::string& container, bool no_stdin) {
  EngineClient& client = context.client();
  GANTRY_ASSIGN_OR_RETURN(json inspect, InspectContainer(client, container));
  const std::string id = inspect.value("Id", "");
  if (!inspect["State"].value("Running", false)) {
    return absl::FailedPreconditionError(
        "You cannot attach to a stopped container, start it first");
  }
  return AttachAndWait(
      client, id,
      {.stdin = !no_stdin && inspect["Config"].value("OpenStdin", false), .tty = HasTty(inspect)},
      "not-running");
}

// stop, restart, kill, rm, pause, unpause: one request per named container.
void AddPerContainerCommand(CLI::App& app, CommandContext& context, const std::string& name,
                            const std::string& description,
                            std::function<std::string(const std::string&)> request,
                            const std::string& method = "POST",
                            std::function<void(CLI::App*)> add_flags = nullptr) {
  auto containers = std::make_shared<std::vector<std::string>>();
  CLI::App* sub = app.add_subcommand(name, description);
  sub->add_option("containers", *containers, "CONTAINER [CONTAINER...]")->required();
  if (add_flags) add_flags(sub);
  context.OnRun(sub, [&context, containers, request, method] {
    return ForEachContainer(*containers, [&](const std::string& container) {
      return context.client().Call(method, request(container)).status();
    });
  });
}

}  // namespace

void AddInspectCommand(CLI::App& app, CommandContext& context, const std::string& type) {
  auto inspect = std::make_shared<InspectFlags>();
  inspect->type = type;
  CLI::App* command = app.add_subcommand(
      "inspect", type.empty()
                     ? "Return low-level information on objects"
                     : absl::StrCat("Display detailed information on one or more ", type, "s"));
  command->add_option("names", inspect->names, "NAME|ID [NAME|ID...]")->required();
  command->add_option("-f,--format", inspect->format, "Format output using a custom template");
  if (type.empty()) command->add_option("--type", inspect->type, "Return JSON for specified type");
  if (type.empty() || type == "container") {
    command->add_flag("-s,--size", inspect->size, "Display total file sizes");
  }
  context.OnRun(command, [&context, inspect] { return Inspect(context, *inspect); });
}

void AddContainerCommands(CLI::App& app, CommandContext& context) {
  auto ps = std::make_shared<PsFlags>();
  CLI::App* ps_cmd = app.add_subcommand("ps", "List containers");
  ps_cmd->add_flag("-a,--all", ps->all, "Show all containers (default shows just running)");
  ps_cmd->add_flag("-q,--quiet", ps->quiet, "Only display container IDs");
  ps_cmd->add_flag("--no-trunc", ps->no_trunc, "Don't truncate output");
  ps_cmd->add_flag("-l,--latest", ps->latest, "Show the latest created container");
  ps_cmd->add_option("-n,--last", ps->last, "Show n last created containers");
  ps_cmd->add_flag("-s,--size", ps->size, "Display total file sizes");
  AddRepeatable(*ps_cmd, "-f,--filter", ps->filters, "Filter output based on conditions provided");
  ps_cmd->add_option("--format", ps->format, "Format output using a custom template");
  context.OnRun(ps_cmd, [&context, ps] { return Ps(context, *ps); });

  auto logs = std::make_shared<LogsFlags>();
  CLI::App* logs_cmd = app.add_subcommand("logs", "Fetch the logs of a container");
  logs_cmd->add_option("container", logs->container, "CONTAINER")->required();
  logs_cmd->add_flag("-f,--follow", logs->follow, "Follow log output");
  logs_cmd->add_flag("-t,--timestamps", logs->timestamps, "Show timestamps");
  logs_cmd->add_option("-n,--tail", logs->tail, "Number of lines to show from the end of the logs");
  logs_cmd->add_option("--since", logs->since, "Show logs since timestamp or relative (e.g. 42m)");
  logs_cmd->add_option("--until", logs->until, "Show logs before a timestamp or relative");
  context.OnRun(logs_cmd, [&context, logs] { return Logs(context, *logs); });

  AddInspectCommand(app, context, "");

  auto top = std::make_shared<std::vector<std::string>>();
  CLI::App* top_cmd = app.add_subcommand("top", "Display the running processes of a container");
  top_cmd->add_option("args", *top, "CONTAINER [ps OPTIONS]")->required();
  top_cmd->prefix_command();
  context.OnRun(top_cmd, [&context, top] {
    std::vector<std::string> ps_args(top->begin() + 1, top->end());
    return Top(context, top->front(), ps_args);
  });

  auto start = std::make_shared<StartFlags>();
  CLI::App* start_cmd = app.add_subcommand("start", "Start one or more stopped containers");
  start_cmd->add_option("containers", start->containers, "CONTAINER [CONTAINER...]")->required();
  start_cmd->add_flag("-a,--attach", start->attach, "Attach STDOUT/STDERR and forward signals");
  start_cmd->add_flag("-i,--interactive", start->interactive, "Attach container's STDIN");
  context.OnRun(start_cmd, [&context, start] { return Start(context, *start); });

  auto attach = std::make_shared<std::pair<std::string, bool>>();
  CLI::App* attach_cmd = app.add_subcommand(
      "attach", "Attach local standard input, output, and error streams to a running container");
  attach_cmd->add_option("container", attach->first, "CONTAINER")->required();
  attach_cmd->add_flag("--no-stdin", attach->second, "Do not attach STDIN");
  context.OnRun(attach_cmd,
                [&context, attach] { return Attach(context, attach->first, attach->second); });

  auto stop_time = std::make_shared<int>(-1);
  auto stop_signal = std::make_shared<std::string>();
  auto stop_query = [stop_time, stop_signal](const std::string& verb) {
    return [stop_time, stop_signal, verb](const std::string& c) {
      std::string path = absl::StrCat("/containers/", c, "/", verb, "?");
      if (*stop_time >= 0) absl::StrAppend(&path, "t=", *stop_time, "&");
      if (!stop_signal->empty()) absl::StrAppend(&path, "signal=", QueryEscape(*stop_signal));
      return path;
    };
  };
  auto stop_flags = [stop_time, stop_signal](CLI::App* sub) {
    sub->add_option("-t,--time", *stop_time, "Seconds to wait before killing the container");
    sub->add_option("-s,--signal", *stop_signal, "Signal to send to the container");
  };
  AddPerContainerCommand(app, context, "stop", "Stop one or more running containers",
                         stop_query("stop"), "POST", stop_flags);
  AddPerContainerCommand(app, context, "restart", "Restart one or more containers",
                         stop_query("restart"), "POST", stop_flags);

  auto kill_signal = std::make_shared<std::string>();
  AddPerContainerCommand(
      app, context, "kill", "Kill one or more running containers",
      [kill_signal](const std::string& c) {
        return absl::StrCat("/containers/", c, "/kill",
                            kill_signal->empty() ? "" : "?signal=" + QueryEscape(*kill_signal));
      },
      "POST",
      [kill_signal](CLI::App* sub) {
        sub->add_option("-s,--signal", *kill_signal, "Signal to send to the container");
      });

  auto rm_force = std::make_shared<bool>(false);
  auto rm_volumes = std::make_shared<bool>(false);
  AddPerContainerCommand(
      app, context, "rm", "Remove one or more containers",
      [rm_force, rm_volumes](const std::string& c) {
        return absl::StrCat("/containers/", c, "?force=", *rm_force ? "1" : "0",
                            "&v=", *rm_volumes ? "1" : "0");
      },
      "DELETE",
      [rm_force, rm_volumes](CLI::App* sub) {
        sub->add_flag("-f,--force", *rm_force, "Force the removal of a running container");
        sub->add_flag("-v,--volumes", *rm_volumes, "Remove anonymous volumes of the container");
      });

  for (const char* verb : {"pause", "unpause"}) {
    AddPerContainerCommand(
        app, context, verb,
        absl::StrCat(verb == std::string("pause") ? "Pause" : "Unpause",
                     " all processes within one or more containers"),
        [verb](const std::string& c) { return absl::StrCat("/containers/", c, "/", verb); });
  }

  auto rename = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* rename_cmd = app.add_subcommand("rename", "Rename a container");
  rename_cmd->add_option("container", rename->first, "CONTAINER")->required();
  rename_cmd->add_option("name", rename->second, "NEW_NAME")->required();
  context.OnRun(rename_cmd, [&context, rename]() -> absl::StatusOr<int> {
    GANTRY_RETURN_IF_ERROR(
        context.client()
            .Call("POST", absl::StrCat("/containers/", rename->first,
                                       "/rename?name=", QueryEscape(rename->second)))
            .status());
    return 0;
  });

  auto wait = std::make_shared<std::vector<std::string>>();
  CLI::App* wait_cmd = app.add_subcommand(
      "wait", "Block until one or more containers stop, then print their exit codes");
  wait_cmd->add_option("containers", *wait, "CONTAINER [CONTAINER...]")->required();
  context.OnRun(wait_cmd, [&context, wait]() -> absl::StatusOr<int> {
    absl::Status failed;
    for (const std::string& c : *wait) {
      absl::StatusOr<int> code = [&]() -> absl::StatusOr<int> {
        GANTRY_ASSIGN_OR_RETURN(
            std::unique_ptr<ResponseStream> stream,
            context.client().Open("POST", absl::StrCat("/containers/", c, "/wait")));
        return ExitCodeFrom(*stream);
      }();
      if (code.ok()) {
        std::cout << *code << "\n";
      } else {
        std::cerr << code.status().message() << "\n";
        failed = code.status();
      }
    }
    if (!failed.ok()) return WithExitCode(absl::CancelledError(""), 1);
    return 0;
  });
}

}  // namespace gantry::cli
