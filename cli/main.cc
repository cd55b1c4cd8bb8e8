// gantry: the user's command line, talking to engined's Docker Engine API.
// Commands live in cli/commands/, one file per group; this file only wires
// the global flags and reports errors.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands/command_context.h"

int main(int argc, char** argv) {
  CLI::App app{"gantry: run and manage containers", "gantry"};
  app.set_version_flag("-v,--version", "gantry version " GANTRY_VERSION);
  app.require_subcommand(0, 1);
  gantry::cli::CommandContext context;
  app.add_option("-H,--host", context.host, "engined address (unix://, tcp://, ssh://)")
      ->envname("GANTRY_HOST")
      ->capture_default_str();
  app.add_flag("--tls", context.tls, "Use TLS; implied by --tlsverify");
  app.add_flag("--tlsverify", context.tls_verify, "Use TLS and verify the remote")
      ->envname("GANTRY_TLS_VERIFY");
  app.add_option("--tlscacert", context.tls_ca_cert, "Trust certs signed only by this CA");
  app.add_option("--tlscert", context.tls_cert, "Path to TLS certificate file");
  app.add_option("--tlskey", context.tls_key, "Path to TLS key file");
  gantry::cli::AddSystemCommands(app, context);
  gantry::cli::AddImageCommands(app, context);
  gantry::cli::AddContainerCommands(app, context);
  gantry::cli::AddRunCommands(app, context);
  gantry::cli::AddExecCommand(app, context);
  gantry::cli::AddStatsCommand(app, context);
  gantry::cli::AddCpCommand(app, context);
  gantry::cli::AddEventsCommand(app, context);
  gantry::cli::AddImageArchiveCommands(app, context);
  gantry::cli::AddPortCommand(app, context);
  gantry::cli::AddVolumeCommands(app, context);
  gantry::cli::AddNetworkCommands(app, context);
  gantry::cli::AddUnsupportedCommands(app, context);
  // docker's management form: gantry container ls|run|rm|inspect …
  CLI::App* container = app.add_subcommand("container", "Manage containers");
  container->require_subcommand(1);
  gantry::cli::AddContainerCommands(*container, context);
  gantry::cli::AddRunCommands(*container, context);
  gantry::cli::AddExecCommand(*container, context);
  gantry::cli::AddStatsCommand(*container, context);
  gantry::cli::AddCpCommand(*container, context);
  gantry::cli::AddContainerPruneCommand(*container, context);
  gantry::cli::AddPortCommand(*container, context);
  container->get_subcommand("ps")->alias("ls")->alias("list");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A command line docker would refuse: its usage error and code.
    std::cerr << "gantry: " << e.what() << "\nSee 'gantry --help'.\n";
    return gantry::cli::kExitEngineError;
  }

  if (!context.action) {
    std::cout << app.help();
    return 0;
  }
  absl::StatusOr<int> code = context.action();
  std::cout.flush();
  if (!code.ok()) {
    // Errors already reported item by item carry no message.
    if (!code.status().message().empty()) std::cerr << code.status().message() << "\n";
    return gantry::cli::ExitCodeOf(code.status());
  }
  return *code;
}
