#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "ocirun/cli/commands.h"
#include "ocirun/lib/sealed_exe.h"

#ifndef GANTRY_VERSION
#define GANTRY_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{"ocirun: an OCI container runtime, a drop-in replacement for runc", "ocirun"};
  app.require_subcommand(0, 1);
  ocirun::cli::Invocation inv;
  std::string log_path, log_format = "text";
  bool debug = false;
  app.add_option("--root", inv.global.root, "root directory for storage of container state")
      ->capture_default_str();
  app.add_option("--log", log_path, "log file (default: stderr)");
  app.add_option("--log-format", log_format, "log format: text or json")->capture_default_str();
  app.add_flag("--debug", debug, "enable debug logging");
  app.add_flag("--systemd-cgroup", inv.global.systemd_cgroup,
               "use the systemd cgroup driver (not supported: refused with an error)");
  std::string rootless = "auto";
  app.add_option("--rootless", rootless, "ignore cgroup permission errors (true, false or auto)")
      ->expected(0, 1)
      ->default_str("auto");
  app.set_version_flag("-v,--version",
                       absl::StrCat("ocirun version ", GANTRY_VERSION, "\nspec: 1.0.2-dev"));

  ocirun::cli::RegisterLifecycle(app, inv);
  ocirun::cli::RegisterExec(app, inv);
  ocirun::cli::RegisterQueries(app, inv);
  ocirun::cli::RegisterResources(app, inv);
  ocirun::cli::RegisterSpec(app, inv);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "ocirun: %s\n", e.what());
    return 1;
  }
  inv.global.rootless = rootless == "true" || (rootless == "auto" && ::geteuid() != 0);

  auto format = gantry::log::ParseFormat(log_format);
  if (!format.ok()) {
    std::fprintf(stderr, "ocirun: %s\n", std::string(format.status().message()).c_str());
    return 1;
  }
  auto configured = gantry::log::Configure(
      log_path, *format, debug ? gantry::log::Level::kDebug : gantry::log::Level::kInfo);
  if (!configured.ok()) {
    std::fprintf(stderr, "ocirun: %s\n", std::string(configured.message()).c_str());
    return 1;
  }
  if (!inv.action) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  absl::Status sealed = inv.needs_unwritable_exe && inv.needs_unwritable_exe()
                            ? ocirun::ReexecUnwritable(argv, inv.global.root)
                            : absl::OkStatus();
  absl::StatusOr<int> result = sealed.ok() ? inv.action() : absl::StatusOr<int>(sealed);
  if (!result.ok()) {
    std::string message(result.status().message());
    // containerd's shim reads the last error line from --log; users read stderr.
    if (!log_path.empty()) gantry::log::Error(message);
    std::fprintf(stderr, "ocirun: %s\n", message.c_str());
    return 1;
  }
  return *result;
}
