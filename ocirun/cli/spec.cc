#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "ocirun/cli/commands.h"
#include "ocirun/lib/capabilities.h"
#include "ocirun/lib/default_spec.h"
#include "ocirun/lib/rootfs.h"

namespace ocirun::cli {

void RegisterSpec(CLI::App& app, Invocation& inv) {
  static std::string bundle = ".";
  static bool rootless = false;
  auto* spec_cmd = app.add_subcommand("spec", "create a new specification file (config.json)");
  spec_cmd->add_option("-b,--bundle", bundle, "path to the root of the bundle directory");
  spec_cmd->add_flag("--rootless", rootless, "generate a configuration for a rootless container");
  spec_cmd->callback([&inv] {
    inv.action = []() -> absl::StatusOr<int> {
      std::string path = bundle + "/config.json";
      if (::access(path.c_str(), F_OK) == 0)
        return absl::AlreadyExistsError("File config.json exists. Remove it first");
      GANTRY_RETURN_IF_ERROR(
          gantry::WriteFileAtomic(path, DefaultSpec(rootless).dump(1, '\t'), 0644));
      return 0;
    };
  });

  auto* features_cmd = app.add_subcommand("features", "show the enabled features");
  features_cmd->callback([&inv] {
    inv.action = []() -> absl::StatusOr<int> {
      nlohmann::ordered_json features = {
          {"ociVersionMin", "1.0.0"},
          {"ociVersionMax", "1.0.2-dev"},
          {"hooks",
           {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
            "poststop"}},
          {"mountOptions", nlohmann::json::array()},
      };
      for (const char* o : {"async",         "atime",      "bind",     "dev",       "diratime",
                            "dirsync",       "exec",       "loud",     "mand",      "noatime",
                            "nodev",         "nodiratime", "noexec",   "nomand",    "norelatime",
                            "nostrictatime", "nosuid",     "private",  "rbind",     "relatime",
                            "remount",       "ro",         "rprivate", "rshared",   "rslave",
                            "runbindable",   "rw",         "shared",   "silent",    "slave",
                            "strictatime",   "suid",       "sync",     "unbindable"})
        features["mountOptions"].push_back(o);
      nlohmann::ordered_json namespaces = nlohmann::json::array();
      for (const auto& [name, flag] : NamespaceTypes()) namespaces.push_back(name);
      features["linux"] = {
          {"namespaces", namespaces},
          {"capabilities", KnownCapabilities()},
          {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
          {"seccomp", {{"enabled", false}}},
          {"apparmor", {{"enabled", false}}},
          {"selinux", {{"enabled", false}}},
      };
      std::printf("%s\n", features.dump(4).c_str());
      return 0;
    };
  });
}

}  // namespace ocirun::cli
