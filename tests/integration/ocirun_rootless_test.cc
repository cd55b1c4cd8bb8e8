// Rootless: ocirun run by an unprivileged user, with the single-id user
// namespace `ocirun spec --rootless` writes and no cgroup of its own.
#include <sys/stat.h>
#include <unistd.h>

#include <functional>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "ocirun_test_util.h"

using ocirun_test::ProcessResult;
using ocirun_test::RunProcess;

namespace {

constexpr const char* kUser = "65534";  // nobody: any unprivileged uid will do

// A bundle and state directory owned by the unprivileged user.
class RootlessBundle {
 public:
  RootlessBundle() {
    REQUIRE(RunProcess({"/bin/cp", "-a", std::string(GANTRY_FIXTURES_DIR) + "/rootfs",
                        dir_.path + "/rootfs"})
                .exit_code == 0);
    REQUIRE(
        RunProcess({"/bin/chown", "-R", absl::StrCat(kUser, ":", kUser), dir_.path}).exit_code ==
        0);
  }
  ~RootlessBundle() {
    (void)AsUser({"--root", dir_.path + "/state", "delete", "--force", "rootless-itest"});
  }
  const std::string& dir() const { return dir_.path; }

  // Writes `spec --rootless`'s config, made as the user, with no terminal and
  // `edit` applied to the parsed JSON.
  void WriteConfig(const std::function<void(nlohmann::json&)>& edit) const {
    REQUIRE(AsUser({"spec", "--rootless"}).exit_code == 0);
    auto config = nlohmann::json::parse(*gantry::ReadFile(dir() + "/config.json"));
    config["process"]["terminal"] = false;
    edit(config);
    ocirun_test::WriteFile(dir() + "/config.json", config.dump());
  }

  ProcessResult Run() const {
    return AsUser({"--root", dir() + "/state", "run", "rootless-itest"});
  }

  // Runs ocirun as the unprivileged user, in the bundle directory.
  ProcessResult AsUser(std::vector<std::string> args) const {
    std::vector<std::string> argv = {"/usr/bin/setpriv",
                                     absl::StrCat("--reuid=", kUser),
                                     absl::StrCat("--regid=", kUser),
                                     "--clear-groups",
                                     "--inh-caps=-all",
                                     "--",
                                     "/bin/sh",
                                     "-c",
                                     "cd \"$0\" && exec \"$@\"",
                                     dir_.path,
                                     ocirun_test::kOcirun};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

 private:
  // A member, so the directory goes even when the constructor's REQUIREs throw.
  struct TempDir {
    TempDir() {
      char tmpl[] = "/tmp/ocirun-itest.rootless-XXXXXX";
      if (::mkdtemp(tmpl)) path = tmpl;
    }
    ~TempDir() { (void)gantry::RemoveTree(path); }
    std::string path;
  } dir_;
};

}  // namespace

TEST_CASE("an unprivileged user runs a container from `spec --rootless`", "[rootless]") {
  RootlessBundle bundle;
  bundle.WriteConfig([](nlohmann::json& c) {
    c["process"]["args"] = {"sh", "-c", "id -u; cat /proc/self/uid_map; hostname"};
  });
  ProcessResult r = bundle.Run();
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // Root inside, mapped to the unprivileged user outside.
  CHECK(r.out == absl::StrCat("0\n         0      ", kUser, "          1\nrunc\n"));
  // Nothing left: `run` deleted the container.
  CHECK_FALSE(ocirun_test::Exists(bundle.dir() + "/state/rootless-itest"));
}

TEST_CASE("rootless limits without a delegated cgroup are refused clearly", "[rootless]") {
  RootlessBundle bundle;
  bundle.WriteConfig([](nlohmann::json& c) { c["linux"]["resources"]["pids"]["limit"] = 10; });
  ProcessResult r = bundle.Run();
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("linux.resources: rootless containers need a delegated cgroup") !=
        std::string::npos);
}
