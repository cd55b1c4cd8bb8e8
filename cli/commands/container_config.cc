#include "cli/commands/container_config.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/commands/command_context.h"
#include "cli/commands/port_specs.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

// "-e NAME" takes NAME's value from our environment, and is dropped when
// there is none (as docker does).
std::vector<std::string> ExpandEnv(const std::vector<std::string>& env) {
  std::vector<std::string> out;
  for (const std::string& entry : env) {
    if (entry.find('=') != std::string::npos) {
      out.push_back(entry);
    } else if (const char* value = ::getenv(entry.c_str()); value != nullptr) {
      out.push_back(absl::StrCat(entry, "=", value));
    }
  }
  return out;
}

}  // namespace

void AddContainerFlags(CLI::App& command, ContainerFlags& flags) {
  // -h is the hostname here, as in docker; help is --help only.
  command.set_help_flag("--help", "Print usage");
  command.add_option("--name", flags.name, "Assign a name to the container");
  command.add_flag("-i,--interactive", flags.interactive, "Keep STDIN open even if not attached");
  command.add_flag("-t,--tty", flags.tty, "Allocate a pseudo-TTY");
  command.add_flag("--rm", flags.auto_remove, "Automatically remove the container when it exits");
  AddRepeatable(command, "-e,--env", flags.env, "Set environment variables");
  command.add_option("-w,--workdir", flags.workdir, "Working directory inside the container");
  command.add_option("-u,--user", flags.user, "Username or UID (format: <name|uid>[:<group|gid>])");
  command.add_option("--entrypoint", flags.entrypoint,
                     "Overwrite the default ENTRYPOINT of the image");
  command.add_option("-h,--hostname", flags.hostname, "Container host name");
  AddRepeatable(command, "-l,--label", flags.labels, "Set meta data on a container");
  command.add_option("--restart", flags.restart, "Restart policy to apply when a container exits");
  command.add_option("-m,--memory", flags.memory, "Memory limit");
  command.add_option("--cpus", flags.cpus, "Number of CPUs");
  AddRepeatable(command, "-v,--volume", flags.volumes, "Bind mount a volume");
  AddRepeatable(command, "--mount", flags.mounts, "Attach a filesystem mount to the container");
  AddRepeatable(command, "--tmpfs", flags.tmpfs, "Mount a tmpfs directory");
  command.add_option("--network,--net", flags.network, "Connect a container to a network");
  AddRepeatable(command, "--network-alias,--net-alias", flags.network_aliases,
                "Add network-scoped alias for the container");
  command.add_option("--ip", flags.ip, "IPv4 address (e.g., 172.30.100.104)");
  AddRepeatable(command, "-p,--publish", flags.publish,
                "Publish a container's port(s) to the host");
  command.add_flag("-P,--publish-all", flags.publish_all,
                   "Publish all exposed ports to random ports");
  AddRepeatable(command, "--expose", flags.expose, "Expose a port or a range of ports");
  AddRepeatable(command, "--volumes-from", flags.volumes_from,
                "Mount volumes from the specified container(s)");
  command.add_option("--stop-signal", flags.stop_signal, "Signal to stop the container");
  command.add_option("--stop-timeout", flags.stop_timeout,
                     "Timeout (in seconds) to stop a container");
  command.add_flag("--privileged", flags.privileged, "Give extended privileges to this container");
  command.add_flag("--read-only", flags.read_only,
                   "Mount the container's root filesystem as read only");
  command.add_flag("--init", flags.init, "Run an init inside the container");
  // IMAGE and what follows belong to the container, flags included.
  command.prefix_command();
}

absl::StatusOr<int64_t> ParseMemory(const std::string& text) {
  std::string lower = absl::AsciiStrToLower(text);
  size_t digits = 0;
  while (digits < lower.size() && (absl::ascii_isdigit(lower[digits]) || lower[digits] == '.')) {
    ++digits;
  }
  double value = 0;
  if (digits == 0 || !absl::SimpleAtod(lower.substr(0, digits), &value)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid size: '", text, "'"));
  }
  std::string unit = lower.substr(digits);
  // "kb", "kib" and "k" are one unit.
  if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();
  if (unit.size() > 1 && unit.back() == 'i') unit.pop_back();
  static constexpr const char kUnits[] = "bkmgtp";
  double multiplier = 1;
  if (!unit.empty()) {
    const char* found = unit.size() == 1 ? std::strchr(kUnits, unit[0]) : nullptr;
    if (found == nullptr || *found == '\0') {
      return absl::InvalidArgumentError(absl::StrCat("invalid size: '", text, "'"));
    }
    multiplier = std::pow(1024.0, double(found - kUnits));
  }
  return int64_t(value * multiplier);
}

absl::StatusOr<json> ParseRestartPolicy(const std::string& text) {
  std::pair<std::string, std::string> parts = absl::StrSplit(text, absl::MaxSplits(':', 1));
  const std::string& name = parts.first;
  int retries = 0;
  if (!parts.second.empty()) {
    if (name != "on-failure" || !absl::SimpleAtoi(parts.second, &retries) || retries < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid restart policy format: maximum retry count must be an integer: ", text));
    }
  }
  if (name != "no" && name != "always" && name != "unless-stopped" && name != "on-failure") {
    return absl::InvalidArgumentError(absl::StrCat("invalid restart policy format: ", text));
  }
  return json{{"Name", name}, {"MaximumRetryCount", retries}};
}

absl::StatusOr<json> ParseMount(const std::string& text) {
  json mount = {{"Type", "volume"}};
  json tmpfs_options = json::object();
  json bind_options = json::object();
  json volume_options = json::object();
  for (absl::string_view field : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(field, absl::MaxSplits('=', 1));
    const std::string key = absl::AsciiStrToLower(kv.first);
    const std::string& value = kv.second;
    if (key == "type") {
      mount["Type"] = value;
    } else if (key == "source" || key == "src") {
      mount["Source"] = value;
    } else if (key == "target" || key == "destination" || key == "dst") {
      mount["Target"] = value;
    } else if (key == "readonly" || key == "ro") {
      mount["ReadOnly"] = value.empty() || value == "true" || value == "1";
    } else if (key == "volume-nocopy") {
      volume_options["NoCopy"] = value.empty() || value == "true" || value == "1";
    } else if (key == "volume-driver") {
      volume_options["DriverConfig"]["Name"] = value;
    } else if (key == "volume-opt" || key == "volume-label") {
      std::pair<std::string, std::string> option = absl::StrSplit(value, absl::MaxSplits('=', 1));
      if (key == "volume-opt") {
        volume_options["DriverConfig"]["Options"][option.first] = option.second;
      } else {
        volume_options["Labels"][option.first] = option.second;
      }
    } else if (key == "volume-subpath") {
      volume_options["Subpath"] = value;
    } else if (key == "bind-propagation") {
      bind_options["Propagation"] = value;
    } else if (key == "tmpfs-size") {
      GANTRY_ASSIGN_OR_RETURN(int64_t size, ParseMemory(value));
      tmpfs_options["SizeBytes"] = size;
    } else if (key == "tmpfs-mode") {
      tmpfs_options["Mode"] = std::strtol(value.c_str(), nullptr, 8);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid argument \"", text,
                                                     "\" for \"--mount\" flag: unexpected key '",
                                                     key, "' in '", field, "'"));
    }
  }
  if (!mount.contains("Target")) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid argument \"", text, "\" for \"--mount\" flag: target is required"));
  }
  if (mount["Type"] == "bind" && !mount.contains("Source")) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid argument \"", text, "\" for \"--mount\" flag: source is required"));
  }
  if (!volume_options.empty() && mount["Type"] != "volume") {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid argument \"", text, "\" for \"--mount\" flag: cannot mix 'volume-*' ",
                     "options with mount type '", mount["Type"].get<std::string>(), "'"));
  }
  if (!volume_options.empty()) mount["VolumeOptions"] = volume_options;
  if (!tmpfs_options.empty()) mount["TmpfsOptions"] = tmpfs_options;
  if (!bind_options.empty()) mount["BindOptions"] = bind_options;
  return mount;
}

absl::StatusOr<json> CreateContainerBody(const ContainerFlags& flags) {
  if (flags.args.empty()) {
    return absl::InvalidArgumentError("\"create\" requires at least 1 argument: IMAGE");
  }
  const bool attached = !flags.detach;
  json config = {{"Image", flags.image()},
                 {"Tty", flags.tty},
                 {"OpenStdin", flags.interactive},
                 {"StdinOnce", flags.interactive && attached},
                 {"AttachStdin", flags.interactive && attached},
                 {"AttachStdout", attached},
                 {"AttachStderr", attached},
                 {"Env", ExpandEnv(flags.env)},
                 {"WorkingDir", flags.workdir},
                 {"User", flags.user},
                 {"Hostname", flags.hostname}};
  if (flags.args.size() > 1) {
    config["Cmd"] = std::vector<std::string>(flags.args.begin() + 1, flags.args.end());
  }
  if (flags.entrypoint.has_value()) config["Entrypoint"] = json::array({*flags.entrypoint});
  config["Labels"] = KeyValues(flags.labels);
  if (!flags.stop_signal.empty()) config["StopSignal"] = flags.stop_signal;
  if (flags.stop_timeout.has_value()) config["StopTimeout"] = *flags.stop_timeout;

  json host = {{"AutoRemove", flags.auto_remove},
               {"Privileged", flags.privileged},
               {"ReadonlyRootfs", flags.read_only},
               {"NetworkMode", flags.network.empty() ? "default" : flags.network}};
  if (flags.init) host["Init"] = true;
  // --mount bind and tmpfs go as the equivalent Binds and Tmpfs entries,
  // which every engine version reads (engined does not read Mounts yet);
  // other types as Mounts.
  // -v /path is an anonymous volume (Config.Volumes); NAME:/path and
  // /host:/path are Binds.
  json binds = json::array();
  json anonymous = json::object();
  for (const std::string& volume : flags.volumes) {
    if (absl::StrContains(volume, ':')) {
      binds.push_back(volume);
    } else {
      anonymous[volume] = json::object();
    }
  }
  if (!anonymous.empty()) config["Volumes"] = anonymous;
  json tmpfs = json::object();
  for (const std::string& entry : flags.tmpfs) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, absl::MaxSplits(':', 1));
    tmpfs[kv.first] = kv.second;
  }
  json mounts = json::array();
  for (const std::string& text : flags.mounts) {
    GANTRY_ASSIGN_OR_RETURN(json mount, ParseMount(text));
    if (mount["Type"] == "bind") {
      std::vector<std::string> options;
      if (mount.value("ReadOnly", false)) options.push_back("ro");
      if (mount.contains("BindOptions")) options.push_back(mount["BindOptions"]["Propagation"]);
      binds.push_back(absl::StrCat(mount["Source"].get<std::string>(), ":",
                                   mount["Target"].get<std::string>(), options.empty() ? "" : ":",
                                   absl::StrJoin(options, ",")));
    } else if (mount["Type"] == "tmpfs") {
      std::vector<std::string> options;
      if (mount.value("ReadOnly", false)) options.push_back("ro");
      const json tmpfs_options = mount.value("TmpfsOptions", json::object());
      if (tmpfs_options.contains("SizeBytes")) {
        options.push_back(absl::StrCat("size=", tmpfs_options["SizeBytes"].get<int64_t>()));
      }
      if (tmpfs_options.contains("Mode")) {
        options.push_back(absl::StrFormat("mode=%o", tmpfs_options["Mode"].get<int64_t>()));
      }
      tmpfs[mount["Target"].get<std::string>()] = absl::StrJoin(options, ",");
    } else {
      mounts.push_back(mount);
    }
  }
  if (!binds.empty()) host["Binds"] = binds;
  if (!tmpfs.empty()) host["Tmpfs"] = tmpfs;
  if (!mounts.empty()) host["Mounts"] = mounts;
  if (!flags.volumes_from.empty()) host["VolumesFrom"] = flags.volumes_from;
  GANTRY_ASSIGN_OR_RETURN(PublishedPorts ports, ParsePublishedPorts(flags.publish, flags.expose));
  if (!ports.exposed.empty()) config["ExposedPorts"] = ports.exposed;
  if (!ports.bindings.empty()) host["PortBindings"] = ports.bindings;
  if (flags.publish_all) host["PublishAllPorts"] = true;
  if (!flags.network_aliases.empty() || !flags.ip.empty()) {
    json endpoint = json::object();
    if (!flags.network_aliases.empty()) endpoint["Aliases"] = flags.network_aliases;
    if (!flags.ip.empty()) endpoint["IPAMConfig"] = {{"IPv4Address", flags.ip}};
    config["NetworkingConfig"] = {
        {"EndpointsConfig", {{flags.network.empty() ? "default" : flags.network, endpoint}}}};
  }
  if (!flags.restart.empty()) {
    GANTRY_ASSIGN_OR_RETURN(json policy, ParseRestartPolicy(flags.restart));
    if (flags.auto_remove && policy["Name"] != "no") {
      return absl::InvalidArgumentError("Conflicting options: --restart and --rm");
    }
    host["RestartPolicy"] = policy;
  }
  if (!flags.memory.empty()) {
    GANTRY_ASSIGN_OR_RETURN(int64_t memory, ParseMemory(flags.memory));
    host["Memory"] = memory;
  }
  if (flags.cpus > 0) host["NanoCpus"] = int64_t(std::llround(flags.cpus * 1e9));
  config["HostConfig"] = host;
  return config;
}

}  // namespace gantry::cli
