// gantry: the user's command line, talking to engined's Docker Engine API.
// For now only its global flags exist.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

namespace {

struct Flags {
  std::string host = "unix:///run/gantry.sock";
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gantry: run and manage containers", "gantry"};
  app.set_version_flag("--version", "gantry version " GANTRY_VERSION);
  Flags flags;
  app.add_option("-H,--host", flags.host, "engined address (unix://, tcp://)")
      ->envname("GANTRY_HOST")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::cout << app.help();
  return 0;
}
