// engined: the Docker Engine API daemon (HTTP on unix sockets or TCP+TLS),
// driving contd over gRPC. For now only its command line exists.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/strings/match.h"
#include "common/log.h"

namespace {

struct Flags {
  std::string data_root = "/var/lib/gantry/engined";
  std::string exec_root = "/run/gantry/engined";
  std::vector<std::string> hosts = {"unix:///run/gantry.sock"};
  std::string contd;
  std::string config_file = "/etc/gantry/daemon.json";
  bool tls_verify = false;
  std::string tls_ca_cert;
  std::string tls_cert;
  std::string tls_key;
};

// As dockerd: a TCP socket gives root to whoever reaches it, so it is only
// served with mutual TLS.
bool TlsComplete(const Flags& flags) {
  return flags.tls_verify && !flags.tls_ca_cert.empty() && !flags.tls_cert.empty() &&
         !flags.tls_key.empty();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"engined: the Docker Engine API daemon", "engined"};
  app.set_version_flag("--version", "engined version " GANTRY_VERSION);
  Flags flags;
  app.add_option("--data-root", flags.data_root, "Directory for persistent data")
      ->capture_default_str();
  app.add_option("--exec-root", flags.exec_root, "Directory for runtime data")
      ->capture_default_str();
  app.add_option("-H,--host", flags.hosts,
                 "Address to serve the API on (unix://, tcp://, fd://); repeatable")
      ->capture_default_str();
  app.add_option("--contd", flags.contd,
                 "contd socket; engined starts its own contd when none is given");
  app.add_option("--config-file", flags.config_file, "Daemon configuration (daemon.json)")
      ->capture_default_str();
  app.add_flag("--tlsverify", flags.tls_verify, "Require TLS client certificates on tcp:// hosts");
  app.add_option("--tlscacert", flags.tls_ca_cert, "CA certificate that signs client certificates")
      ->check(CLI::ExistingFile);
  app.add_option("--tlscert", flags.tls_cert, "Server TLS certificate")->check(CLI::ExistingFile);
  app.add_option("--tlskey", flags.tls_key, "Server TLS key")->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  for (const std::string& host : flags.hosts) {
    if (absl::StartsWith(host, "tcp://") && !TlsComplete(flags)) {
      gantry::log::Error("engined: -H ", host,
                         ": tcp:// needs --tlsverify --tlscacert --tlscert --tlskey");
      return 1;
    }
  }
  gantry::log::Error("engined: serving the Engine API is not implemented yet");
  return 1;
}
