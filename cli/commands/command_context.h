// What every command shares: the engine client, the streams, and how a
// command's work is handed to main() (parsed first, run after).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/statusor.h"
#include "cli/client/engine_client.h"

namespace gantry::cli {

// Docker's exit codes for `run`: the engine failed (125), the command could
// not be invoked (126) or found (127).
inline constexpr int kExitEngineError = 125;
inline constexpr int kExitCannotInvoke = 126;
inline constexpr int kExitNotFound = 127;

// A command's work: its exit code, or an error main() prints (exit 1, or
// the code the error carries for `run`).
using Action = std::function<absl::StatusOr<int>()>;

struct CommandContext {
  std::string host = kDefaultHost;
  // docker's TLS flags: --tls (encrypt), --tlsverify (and check engined's
  // certificate against --tlscacert); certificates default to
  // $GANTRY_CERT_PATH or ~/.gantry (ca.pem, cert.pem, key.pem).
  bool tls = false;
  bool tls_verify = false;
  std::string tls_ca_cert;
  std::string tls_cert;
  std::string tls_key;
  std::unique_ptr<EngineClient> engine;
  Action action;

  EngineClient& client();
  // Registers `sub`'s work; CLI11 calls back once the line is parsed.
  void OnRun(CLI::App* sub, Action work) {
    sub->callback([this, work = std::move(work)] { action = work; });
  }
};

// An error that makes main() exit with `code` instead of 1.
absl::Status WithExitCode(absl::Status status, int code);
int ExitCodeOf(const absl::Status& status);

// Applies `fn` to each name, printing the name when it succeeds and the error
// when it fails (docker's stop/rm/kill…); an error for the whole if any failed.
absl::StatusOr<int> ForEachContainer(const std::vector<std::string>& names,
                                     const std::function<absl::Status(const std::string&)>& fn);

// A flag given once per value (-e A=1 -e B=2), never swallowing the
// arguments after it as CLI11's vectors do by default (run's IMAGE).
CLI::Option* AddRepeatable(CLI::App& command, const std::string& names,
                           std::vector<std::string>& values, const std::string& description);

// key=value flags (--label, -o) as a JSON object of strings; "key" alone
// has the value "".
nlohmann::json KeyValues(const std::vector<std::string>& pairs);

// --filter key=value flags as the API's filters parameter
// ("&filters=%7B...%7D"), empty when there are none; an error names a flag
// without "=".
absl::StatusOr<std::string> FiltersQuery(const std::vector<std::string>& filters);

// version, info, and the `system` group (info, events, df, prune,
// dial-stdio).
void AddSystemCommands(CLI::App& app, CommandContext& context);
// `inspect` of any object (`type` empty), or of "container"s or "image"s.
void AddInspectCommand(CLI::App& app, CommandContext& context, const std::string& type);
void AddImageCommands(CLI::App& app, CommandContext& context);
// The container commands at the top (gantry ps) or in a group (gantry
// container ls).
void AddContainerCommands(CLI::App& app, CommandContext& context);
void AddRunCommands(CLI::App& app, CommandContext& context);
void AddExecCommand(CLI::App& app, CommandContext& context);
void AddStatsCommand(CLI::App& app, CommandContext& context);
void AddCpCommand(CLI::App& app, CommandContext& context);
void AddEventsCommand(CLI::App& app, CommandContext& context);
// save and load.
void AddImageArchiveCommands(CLI::App& app, CommandContext& context);
void AddDiskUsageCommand(CLI::App& app, CommandContext& context);
void AddContainerPruneCommand(CLI::App& app, CommandContext& context);
void AddImagePruneCommand(CLI::App& app, CommandContext& context);
void AddSystemPruneCommand(CLI::App& app, CommandContext& context);
void AddVolumePruneCommand(CLI::App& app, CommandContext& context);
void AddNetworkPruneCommand(CLI::App& app, CommandContext& context);
// The `volume` and `network` groups.
void AddVolumeCommands(CLI::App& app, CommandContext& context);
void AddNetworkCommands(CLI::App& app, CommandContext& context);
// port: a container's published ports.
void AddPortCommand(CLI::App& app, CommandContext& context);
void AddDialStdioCommand(CLI::App& app, CommandContext& context);
// Commands whose endpoints engined does not serve yet.
void AddUnsupportedCommands(CLI::App& app, CommandContext& context);

}  // namespace gantry::cli
