// engined: the Docker Engine API daemon (HTTP on unix sockets or TCP+TLS),
// driving contd over gRPC. Runs until SIGTERM or SIGINT.
#include <signal.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/daemon_process.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/malloc_tuning.h"
#include "common/socket_file.h"
#include "engined/api/containers_router.h"
#include "engined/api/disk_usage_router.h"
#include "engined/api/events_router.h"
#include "engined/api/exec_router.h"
#include "engined/api/images_router.h"
#include "engined/api/networks_router.h"
#include "engined/api/router.h"
#include "engined/api/system_router.h"
#include "engined/api/volumes_router.h"
#include "engined/config/daemon_config.h"
#include "engined/containers/container_manager.h"
#include "engined/containers/container_store.h"
#include "engined/containers/exec_manager.h"
#include "engined/containers/health_monitor.h"
#include "engined/contd/contd_client.h"
#include "engined/daemon/contd_supervisor.h"
#include "engined/daemon/event_hub.h"
#include "engined/daemon/host_info.h"
#include "engined/images/image_service.h"
#include "engined/server/http_server.h"

namespace {

using gantry::engined::DaemonConfig;

struct Flags {
  std::string data_root = "/var/lib/gantry/engined";
  std::string exec_root = "/run/gantry/engined";
  std::vector<std::string> hosts = {"unix:///run/gantry.sock"};
  std::string contd;
  std::string config_file = "/etc/gantry/daemon.json";
  std::string group = "gantry";
  bool debug = false;
  std::string log_level = "info";
  bool tls_verify = false;
  std::string tls_ca_cert;
  std::string tls_cert;
  std::string tls_key;
  std::vector<std::string> insecure_registries;
};

// Sets a flag from daemon.json unless the command line set it too: dockerd
// refuses such a conflict rather than guess which one wins.
template <typename T>
absl::Status Merge(CLI::App& app, const std::string& flag, const std::string& key,
                   const std::optional<T>& from_file, T& value) {
  if (!from_file.has_value()) return absl::OkStatus();
  if (app.count(flag) > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the following directives are specified both as a flag and in the configuration file: ",
        key));
  }
  value = *from_file;
  return absl::OkStatus();
}

absl::Status ApplyConfig(CLI::App& app, const DaemonConfig& config, Flags& flags) {
  GANTRY_RETURN_IF_ERROR(Merge(app, "--host", "hosts", config.hosts, flags.hosts));
  GANTRY_RETURN_IF_ERROR(Merge(app, "--data-root", "data-root", config.data_root, flags.data_root));
  GANTRY_RETURN_IF_ERROR(Merge(app, "--exec-root", "exec-root", config.exec_root, flags.exec_root));
  GANTRY_RETURN_IF_ERROR(Merge(app, "--debug", "debug", config.debug, flags.debug));
  GANTRY_RETURN_IF_ERROR(Merge(app, "--log-level", "log-level", config.log_level, flags.log_level));
  GANTRY_RETURN_IF_ERROR(
      Merge(app, "--tlsverify", "tlsverify", config.tls_verify, flags.tls_verify));
  GANTRY_RETURN_IF_ERROR(
      Merge(app, "--tlscacert", "tlscacert", config.tls_ca_cert, flags.tls_ca_cert));
  GANTRY_RETURN_IF_ERROR(Merge(app, "--tlscert", "tlscert", config.tls_cert, flags.tls_cert));
  GANTRY_RETURN_IF_ERROR(Merge(app, "--tlskey", "tlskey", config.tls_key, flags.tls_key));
  GANTRY_RETURN_IF_ERROR(Merge(app, "--group", "group", config.group, flags.group));
  GANTRY_RETURN_IF_ERROR(Merge(app, "--insecure-registry", "insecure-registries",
                               config.insecure_registries, flags.insecure_registries));
  if (!config.pending.empty()) {
    gantry::log::Warning(
        "engined: ", flags.config_file, ": not applied yet: ",
        absl::StrJoin(config.pending.items(), ", ",
                      [](std::string* out, const auto& item) { out->append(item.key()); }));
  }
  return absl::OkStatus();
}

gantry::log::Level LogLevel(const Flags& flags);

// SIGHUP: daemon.json read again; what can change while running (debug,
// log-level) changes, the rest is reported as needing a restart, as
// dockerd's reload does. A bad file changes nothing.
void ReloadConfig(const Flags& flags, gantry::engined::SystemRouter& system,
                  gantry::engined::EventHub& events) {
  absl::StatusOr<DaemonConfig> config = gantry::engined::LoadDaemonConfig(flags.config_file, false);
  if (!config.ok()) {
    gantry::log::Error("engined: reloading ", flags.config_file, ": ", config.status().message());
    return;
  }
  Flags reloaded = flags;
  reloaded.debug = config->debug.value_or(false);
  reloaded.log_level = config->log_level.value_or("info");
  (void)gantry::log::Configure("", gantry::log::Format::kText, LogLevel(reloaded));
  system.SetDebug(reloaded.debug);
  events.Publish("daemon", "reload", "",
                 {{"debug", reloaded.debug ? "true" : "false"},
                  {"log-level", reloaded.log_level},
                  {"config-file", flags.config_file}});
  gantry::log::Info("engined: reloaded ", flags.config_file, " (debug=", reloaded.debug,
                    ", log-level=", reloaded.log_level,
                    "); other keys take effect at the next start");
}

gantry::log::Level LogLevel(const Flags& flags) {
  if (flags.debug || flags.log_level == "debug") return gantry::log::Level::kDebug;
  if (flags.log_level == "warn") return gantry::log::Level::kWarning;
  if (flags.log_level == "error" || flags.log_level == "fatal") return gantry::log::Level::kError;
  return gantry::log::Level::kInfo;
}

absl::StatusOr<gantry::engined::ServerOptions> MakeServerOptions(CLI::App& app,
                                                                 const Flags& flags) {
  gantry::engined::ServerOptions options;
  bool any_tls = flags.tls_verify || !flags.tls_ca_cert.empty() || !flags.tls_cert.empty() ||
                 !flags.tls_key.empty();
  if (any_tls) {
    // As dockerd: a TCP socket gives root to whoever reaches it, so TLS is
    // mutual or not at all.
    if (!flags.tls_verify || flags.tls_ca_cert.empty() || flags.tls_cert.empty() ||
        flags.tls_key.empty()) {
      return absl::InvalidArgumentError(
          "TLS needs all of --tlsverify --tlscacert --tlscert --tlskey");
    }
    options.tls = gantry::engined::TlsFiles{flags.tls_ca_cert, flags.tls_cert, flags.tls_key};
  }
  for (const std::string& host : flags.hosts) {
    GANTRY_ASSIGN_OR_RETURN(gantry::engined::ListenAddress address,
                            gantry::engined::ParseListenAddress(host, any_tls));
    options.addresses.push_back(std::move(address));
  }
  absl::StatusOr<gid_t> group = gantry::LookupGroup(flags.group);
  if (group.ok()) {
    options.socket_group = *group;
  } else if (!absl::IsNotFound(group.status()) || app.count("--group") > 0) {
    return gantry::Annotate(group.status(), "--group");
  }
  return options;
}

int Fail(const absl::Status& status) {
  gantry::log::Error("engined: ", status.message());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  gantry::LimitMallocArenas();
  CLI::App app{"engined: the Docker Engine API daemon", "engined"};
  app.set_version_flag("--version", "engined version " GANTRY_VERSION);
  Flags flags;
  app.add_option("--data-root", flags.data_root, "Directory for persistent data")
      ->capture_default_str();
  app.add_option("--exec-root", flags.exec_root, "Directory for runtime data (pid file)")
      ->capture_default_str();
  app.add_option("-H,--host", flags.hosts,
                 "Address to serve the API on (unix:///path, tcp://ip:port); repeatable")
      ->capture_default_str();
  app.add_option("--contd", flags.contd,
                 "contd socket (default <exec-root>/contd.sock); when nothing answers there, "
                 "engined starts and supervises its own contd");
  app.add_option("--insecure-registry", flags.insecure_registries,
                 "Registry reachable over plain HTTP or unverified TLS; repeatable");
  app.add_option("--config-file", flags.config_file, "Daemon configuration (daemon.json)")
      ->capture_default_str();
  app.add_option("-G,--group", flags.group,
                 "Group that may use the unix sockets (0660); root only when it does not exist")
      ->capture_default_str();
  app.add_flag("-D,--debug", flags.debug, "Log at debug level");
  app.add_option("-l,--log-level", flags.log_level, "Log level")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "fatal"}))
      ->capture_default_str();
  app.add_flag("--tlsverify", flags.tls_verify, "Require TLS client certificates on tcp:// hosts");
  app.add_option("--tlscacert", flags.tls_ca_cert, "CA certificate that signs client certificates")
      ->check(CLI::ExistingFile);
  app.add_option("--tlscert", flags.tls_cert, "Server TLS certificate")->check(CLI::ExistingFile);
  app.add_option("--tlskey", flags.tls_key, "Server TLS key")->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<DaemonConfig> config =
      gantry::engined::LoadDaemonConfig(flags.config_file, app.count("--config-file") > 0);
  if (!config.ok()) return Fail(gantry::Annotate(config.status(), "--config-file"));
  if (absl::Status status = ApplyConfig(app, *config, flags); !status.ok()) return Fail(status);
  if (absl::Status status = gantry::log::Configure("", gantry::log::Format::kText, LogLevel(flags));
      !status.ok()) {
    return Fail(status);
  }

  absl::StatusOr<gantry::engined::ServerOptions> options = MakeServerOptions(app, flags);
  if (!options.ok()) return Fail(options.status());
  if (absl::Status status = gantry::MakeDirs(flags.data_root, 0711); !status.ok()) {
    return Fail(gantry::Annotate(status, "--data-root"));
  }
  if (absl::Status status = gantry::MakeDirs(flags.exec_root, 0700); !status.ok()) {
    return Fail(gantry::Annotate(status, "--exec-root"));
  }
  const std::string pid_file = flags.exec_root + "/engined.pid";
  if (absl::Status status = gantry::WritePidFile(pid_file); !status.ok()) return Fail(status);

  absl::StatusOr<std::string> engine_id = gantry::engined::LoadOrCreateEngineId(flags.data_root);
  if (!engine_id.ok()) return Fail(engine_id.status());

  // Before any thread starts, so the server's threads inherit the mask.
  // SIGHUP too, so that no thread started from here takes it: the main
  // thread waits for it to reload daemon.json.
  sigset_t stop_signals = gantry::BlockStopSignals();
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // contd: the one at --contd when it answers, else engined's own.
  const std::string contd_address =
      flags.contd.empty() ? flags.exec_root + "/contd.sock" : flags.contd;
  std::unique_ptr<gantry::engined::ContdSupervisor> own_contd;
  if (!gantry::engined::SocketAnswers(contd_address) ||
      ::access((flags.exec_root + "/contd.pid").c_str(), F_OK) == 0) {
    std::vector<std::string> contd_args;
    for (const std::string& registry : flags.insecure_registries) {
      contd_args.insert(contd_args.end(), {"--insecure-registry", registry});
    }
    own_contd = std::make_unique<gantry::engined::ContdSupervisor>(gantry::engined::ContdOptions{
        .binary = gantry::BesideSelf("contd"),
        .root = flags.data_root + "/contd",
        .state = flags.exec_root + "/contd",
        .address = contd_address,
        .pid_file = flags.exec_root + "/contd.pid",
        .extra_args = contd_args,
    });
    if (absl::Status status = own_contd->Start(absl::Seconds(20)); !status.ok()) {
      ::unlink(pid_file.c_str());
      return Fail(status);
    }
  }
  absl::StatusOr<std::unique_ptr<gantry::engined::ContdClient>> contd =
      gantry::engined::ContdClient::Connect(contd_address, absl::Seconds(10));
  if (!contd.ok()) {
    ::unlink(pid_file.c_str());
    return Fail(contd.status());
  }
  absl::StatusOr<std::unique_ptr<gantry::engined::ContainerStore>> store =
      gantry::engined::ContainerStore::Open(flags.data_root);
  if (!store.ok()) {
    ::unlink(pid_file.c_str());
    return Fail(store.status());
  }
  gantry::engined::EventHub events;
  absl::StatusOr<std::unique_ptr<gantry::engined::VolumeService>> volumes =
      gantry::engined::VolumeService::Open(flags.data_root, events);
  if (!volumes.ok()) {
    ::unlink(pid_file.c_str());
    return Fail(volumes.status());
  }
  absl::StatusOr<std::vector<gantry::engined::network::AddressPool>> pools =
      config->default_address_pools.is_null()
          ? std::vector<gantry::engined::network::AddressPool>()
          : gantry::engined::network::ParseAddressPools(config->default_address_pools);
  if (!pools.ok()) {
    ::unlink(pid_file.c_str());
    return Fail(gantry::Annotate(pools.status(), "--config-file: default-address-pools"));
  }
  absl::StatusOr<std::unique_ptr<gantry::engined::network::NetworkManager>> networks =
      gantry::engined::network::NetworkManager::Open(
          {.data_root = flags.data_root, .exec_root = flags.exec_root}, *std::move(pools), events);
  if (!networks.ok()) {
    ::unlink(pid_file.c_str());
    return Fail(gantry::Annotate(networks.status(), "networks"));
  }
  gantry::engined::ImageService images(**contd, events);
  gantry::engined::ContainerManager containers(
      **contd, images, **volumes, **networks, **store, events,
      {.data_root = flags.data_root, .exec_root = flags.exec_root});
  gantry::engined::ExecManager execs(**contd, containers, flags.exec_root);
  gantry::engined::HealthMonitor health(containers, execs, events);
  if (absl::Status status = containers.Restore(); !status.ok()) {
    ::unlink(pid_file.c_str());
    return Fail(status);
  }
  health.Start();

  gantry::engined::DaemonIdentity identity{
      .id = *engine_id,
      .version = GANTRY_VERSION,
      .git_commit = GANTRY_REVISION,
      .build_time = GANTRY_BUILD_TIME,
      .data_root = flags.data_root,
      .runtime_path = gantry::BesideSelf("ocirun"),
      .debug = flags.debug,
  };
  gantry::engined::Router router({
      {"Server", absl::StrCat("Gantry/", GANTRY_VERSION, " (linux)")},
      {"API-Version", gantry::engined::kMaxApiVersion.ToString()},
      {"OSType", "linux"},
  });
  gantry::engined::SystemRouter system(identity, gantry::engined::ReadHostInfo());
  system.SetInventory(&containers, &images);
  system.AddRoutes(router);
  gantry::engined::ContainersRouter containers_router(containers);
  containers_router.AddRoutes(router);
  gantry::engined::ImagesRouter images_router(images, containers);
  images_router.AddRoutes(router);
  gantry::engined::VolumesRouter volumes_router(**volumes);
  volumes_router.AddRoutes(router);
  gantry::engined::NetworksRouter networks_router(**networks, containers);
  networks_router.AddRoutes(router);
  gantry::engined::DiskUsageRouter disk_usage_router(images, containers, **volumes);
  disk_usage_router.AddRoutes(router);
  gantry::engined::ExecRouter exec_router(execs);
  exec_router.AddRoutes(router);
  gantry::engined::EventsRouter events_router(events);
  events_router.AddRoutes(router);

  gantry::engined::HttpServer server(*options, [&router](gantry::engined::RawRequest request) {
    return router.Handle(std::move(request));
  });
  if (absl::Status status = server.Start(); !status.ok()) {
    server.Stop();
    ::unlink(pid_file.c_str());
    return Fail(status);
  }
  gantry::log::Info("engined: API listening on ", absl::StrJoin(flags.hosts, ", "));

  int signal = 0;
  while ((signal = gantry::WaitForStopSignal(stop_signals)) == SIGHUP) {
    ReloadConfig(flags, system, events);
  }
  gantry::log::Info("engined: received signal ", signal, ", shutting down");
  containers.Shutdown();
  execs.Shutdown();
  events.Close();
  health.Stop();
  server.Stop();
  ::unlink(pid_file.c_str());
  return 0;
}
