// gantry version, gantry info: the client and engined described.
#include <sys/utsname.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/commands/command_context.h"
#include "cli/format/table.h"
#include "cli/format/template.h"
#include "cli/format/units.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

std::string GoArch() {
  struct utsname name = {};
  ::uname(&name);
  const std::string machine = name.machine;
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  return machine;
}

std::string Str(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "";
  return GoString(object[key]);
}

// Prints `data` with the user's template, one line.
absl::StatusOr<int> PrintWithTemplate(const std::string& format, const json& data) {
  GANTRY_ASSIGN_OR_RETURN(Template tmpl, Template::Parse(format));
  GANTRY_ASSIGN_OR_RETURN(std::string text, tmpl.Render(data));
  std::cout << text << "\n";
  return 0;
}

absl::StatusOr<int> Version(CommandContext& context, const std::string& format) {
  json client = {{"Version", GANTRY_VERSION},
                 {"ApiVersion", kClientApiVersion},
                 {"DefaultAPIVersion", kClientApiVersion},
                 {"Os", "linux"},
                 {"Arch", GoArch()}};
  absl::StatusOr<json> server = context.client().CallJson("GET", "/version");
  if (server.ok()) {
    if (absl::StatusOr<std::string> v = context.client().ApiVersion(); v.ok()) {
      client["ApiVersion"] = *v;
    }
  }
  if (!format.empty()) {
    json all = {{"Client", client}, {"Server", server.ok() ? *server : json(nullptr)}};
    GANTRY_ASSIGN_OR_RETURN(int code, PrintWithTemplate(format, all));
    if (!server.ok()) return server.status();
    return code;
  }
  std::string text = absl::StrCat("Client:\n Version:\t", Str(client, "Version"),
                                  "\n API version:\t", Str(client, "ApiVersion"));
  if (client["ApiVersion"] != client["DefaultAPIVersion"]) {
    absl::StrAppend(&text, " (downgraded from ", kClientApiVersion, ")");
  }
  absl::StrAppend(&text, "\n OS/Arch:\t", Str(client, "Os"), "/", Str(client, "Arch"), "\n");
  if (server.ok()) {
    const json& s = *server;
    absl::StrAppend(&text, "\nServer: ", Str(s.value("Platform", json::object()), "Name"),
                    "\n Engine:\n  Version:\t", Str(s, "Version"), "\n  API version:\t",
                    Str(s, "ApiVersion"), " (minimum version ", Str(s, "MinAPIVersion"),
                    ")\n  Git commit:\t", Str(s, "GitCommit"), "\n  Built:\t", Str(s, "BuildTime"),
                    "\n  OS/Arch:\t", Str(s, "Os"), "/", Str(s, "Arch"), "\n  Experimental:\t",
                    s.value("Experimental", false) ? "true" : "false", "\n");
    for (const json& component : s.value("Components", json::array())) {
      if (Str(component, "Name") == "Engine") continue;
      absl::StrAppend(&text, " ", Str(component, "Name"), ":\n  Version:\t",
                      Str(component, "Version"), "\n");
    }
  }
  std::cout << AlignColumns(text, 20, 1);
  if (!server.ok()) return server.status();
  return 0;
}

absl::StatusOr<int> Info(CommandContext& context, const std::string& format) {
  GANTRY_ASSIGN_OR_RETURN(json info, context.client().CallJson("GET", "/info"));
  if (!format.empty()) return PrintWithTemplate(format, info);
  std::string runtimes;
  const json runtime_map = info.value("Runtimes", json::object());
  for (const auto& [name, unused] : runtime_map.items()) {
    absl::StrAppend(&runtimes, runtimes.empty() ? "" : " ", name);
  }
  info["Runtimes"] = runtimes;
  info["MemTotal"] = BytesSize(info.value("MemTotal", 0.0));
  // docker info's lines (the short form): label, then /info's field.
  static constexpr std::pair<const char*, const char*> kLines[] = {
      {" Containers", "Containers"},
      {"  Running", "ContainersRunning"},
      {"  Paused", "ContainersPaused"},
      {"  Stopped", "ContainersStopped"},
      {" Images", "Images"},
      {" Server Version", "ServerVersion"},
      {" Storage Driver", "Driver"},
      {" Logging Driver", "LoggingDriver"},
      {" Cgroup Driver", "CgroupDriver"},
      {" Cgroup Version", "CgroupVersion"},
      {" Runtimes", "Runtimes"},
      {" Default Runtime", "DefaultRuntime"},
      {" Kernel Version", "KernelVersion"},
      {" Operating System", "OperatingSystem"},
      {" OSType", "OSType"},
      {" Architecture", "Architecture"},
      {" CPUs", "NCPU"},
      {" Total Memory", "MemTotal"},
      {" Name", "Name"},
      {" ID", "ID"},
      {" Docker Root Dir", "DockerRootDir"},
      {" Debug Mode", "Debug"},
  };
  std::cout << "Client:\n Version:    " << GANTRY_VERSION << "\n\nServer:\n";
  for (const auto& [label, field] : kLines) std::cout << label << ": " << Str(info, field) << "\n";
  return 0;
}

void AddInfoCommand(CLI::App& app, CommandContext& context) {
  auto format = std::make_shared<std::string>();
  CLI::App* info = app.add_subcommand("info", "Display system-wide information");
  info->add_option("-f,--format", *format, "Format the output using the given Go template");
  context.OnRun(info, [&context, format] { return Info(context, *format); });
}

}  // namespace

void AddSystemCommands(CLI::App& app, CommandContext& context) {
  auto format = std::make_shared<std::string>();
  CLI::App* version = app.add_subcommand("version", "Show the gantry and engined versions");
  version->add_option("-f,--format", *format, "Format the output using the given Go template");
  context.OnRun(version, [&context, format] { return Version(context, *format); });
  AddInfoCommand(app, context);

  CLI::App* system = app.add_subcommand("system", "Manage gantry");
  system->require_subcommand(1);
  AddInfoCommand(*system, context);
  AddEventsCommand(*system, context);
  AddDiskUsageCommand(*system, context);
  AddSystemPruneCommand(*system, context);
  AddDialStdioCommand(*system, context);
}

}  // namespace gantry::cli
