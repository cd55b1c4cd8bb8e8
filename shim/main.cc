// contd-shim: started by contd, one per container. It will daemonize, serve
// proto/shim/v1 on --socket and drive ocirun for the container's bundle; for
// now only its command line exists.
#include <string>

#include <CLI/CLI.hpp>

#include "common/log.h"

namespace {

struct Flags {
  std::string ns = "default";
  std::string id;
  std::string contd_address = "/run/gantry/contd.sock";
  std::string bundle;
  std::string socket;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"contd-shim: keeps one container's processes, stdio and exit status", "contd-shim"};
  app.set_version_flag("--version", "contd-shim version " GANTRY_VERSION);
  Flags flags;
  app.add_option("--namespace", flags.ns, "contd namespace of the container")
      ->capture_default_str();
  app.add_option("--id", flags.id, "Container id")->required();
  app.add_option("--address", flags.contd_address, "contd's socket, to publish events to")
      ->capture_default_str();
  app.add_option("--bundle", flags.bundle, "OCI bundle directory of the container")->required();
  app.add_option("--socket", flags.socket, "Unix socket to serve the shim API on")->required();
  CLI11_PARSE(app, argc, argv);

  gantry::log::Error("contd-shim: serving the shim API is not implemented yet");
  return 1;
}
