// contd: container lifecycle, content, images and snapshots, served over gRPC
// (proto/contd/v1) on a unix socket. Runs until SIGTERM or SIGINT.
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/daemon_process.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/malloc_tuning.h"
#include "common/socket_file.h"
#include "contd/server.h"

namespace {

struct Flags {
  std::string root = "/var/lib/gantry/contd";
  std::string state = "/run/gantry/contd";
  std::string address = "/run/gantry/contd.sock";
  std::string config = "/etc/gantry/contd.toml";
  std::string group;
  std::string shim;
  std::string runtime;
  std::string snapshotter = "overlayfs";
  std::string registry_certs_dir = "/etc/gantry/certs.d";
  std::string registry_config;
  std::vector<std::string> insecure_registries = {"127.0.0.0/8"};
};

absl::StatusOr<gantry::contd::ServerOptions> MakeServerOptions(const Flags& flags,
                                                               bool config_given) {
  gantry::contd::ServerOptions options;
  options.root = flags.root;
  options.state = flags.state;
  // containerd takes a plain path; accept the unix:// form clients use too.
  options.socket_path = flags.address;
  if (absl::StartsWith(options.socket_path, "unix://")) options.socket_path.erase(0, 7);
  if (!flags.group.empty()) {
    absl::StatusOr<gid_t> group = gantry::LookupGroup(flags.group);
    if (!group.ok()) return gantry::Annotate(group.status(), "--group");
    options.group = *group;
  }
  options.shim_binary = flags.shim.empty() ? gantry::BesideSelf("contd-shim") : flags.shim;
  options.runtime_binary = flags.runtime.empty() ? gantry::BesideSelf("ocirun") : flags.runtime;
  options.default_snapshotter = flags.snapshotter;
  options.registry.hosts.certs_dir = flags.registry_certs_dir;
  options.registry.hosts.insecure_registries = flags.insecure_registries;
  options.registry.docker_config = flags.registry_config;
  options.version = GANTRY_VERSION;
  options.revision = GANTRY_REVISION;

  if (::access(flags.config.c_str(), F_OK) == 0) {
    gantry::log::Warning(flags.config, ": configuration files are not read yet; using defaults");
  } else if (config_given) {
    return gantry::LastErrno(absl::StrCat("--config: ", flags.config));
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  gantry::LimitMallocArenas();
  CLI::App app{"contd: container lifecycle, content, image and snapshot daemon", "contd"};
  app.set_version_flag("--version", "contd version " GANTRY_VERSION);
  Flags flags;
  app.add_option("--root", flags.root, "Directory for persistent data")->capture_default_str();
  app.add_option("--state", flags.state, "Directory for runtime data (sockets, bundles)")
      ->capture_default_str();
  app.add_option("--address", flags.address, "Unix socket to serve gRPC on")->capture_default_str();
  app.add_option("--config", flags.config, "Configuration file")->capture_default_str();
  app.add_option("--group", flags.group,
                 "Group (name or id) allowed to use the socket besides root");
  app.add_option("--shim", flags.shim, "contd-shim binary (default: beside contd, or on PATH)");
  app.add_option("--runtime", flags.runtime,
                 "Default OCI runtime for tasks (default: ocirun beside contd, or on PATH)");
  app.add_option("--registry-certs-dir", flags.registry_certs_dir,
                 "Per-registry CAs and client certificates (HOST:PORT/ca.crt, client.cert, "
                 "client.key)")
      ->capture_default_str();
  app.add_option("--registry-config", flags.registry_config,
                 "Docker-style config.json with registry credentials (\"auths\")");
  app.add_option("--insecure-registry", flags.insecure_registries,
                 "Registry (HOST[:PORT]) or CIDR reached over plain HTTP or unverified TLS")
      ->capture_default_str();
  app.add_option("--snapshotter", flags.snapshotter, "Snapshotter for requests that name none")
      ->check(CLI::IsMember({"overlayfs", "native"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<gantry::contd::ServerOptions> options =
      MakeServerOptions(flags, app.count("--config") > 0);
  if (!options.ok()) {
    gantry::log::Error("contd: ", options.status().message());
    return 1;
  }

  const sigset_t stop_signals = gantry::BlockStopSignals();
  absl::StatusOr<std::unique_ptr<gantry::contd::Server>> server =
      gantry::contd::Server::Start(*options);
  if (!server.ok()) {
    gantry::log::Error("contd: ", server.status().message());
    return 1;
  }
  gantry::log::Info("contd ", GANTRY_VERSION, " serving on unix:", options->socket_path);

  const int signal = gantry::WaitForStopSignal(stop_signals);
  gantry::log::Info("contd: received ", strsignal(signal), ", shutting down");
  (*server)->Shutdown();
  gantry::log::Info("contd: stopped");
  return 0;
}
