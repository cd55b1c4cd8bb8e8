// Volumes through engined with the real docker CLI: named volumes that keep
// data across containers, copy-up from the image, anonymous volumes that go
// with --rm and rm -v, volumes in use that cannot be removed, --volumes-from,
// binds with ro and propagation, tmpfs, local volumes with a device, prune
// and system df; and nothing left mounted afterwards.
#include <sys/stat.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/e2e/engined_process.h"
#include "tests/integration/registry_test_util.h"
#include "tests/temp_dir.h"

namespace {

using engined_test::Describe;
using engined_test::Engined;
using engined_test::Lines;
using engined_test::MountsUnder;
using engined_test::Registry;
using ocirun_test::ProcessResult;

using Cli = engined_test::DockerCli;

}  // namespace

TEST_CASE("the docker CLI manages volumes through engined", "[docker][volumes]") {
  Registry registry;
  Engined engined;
  Cli docker(engined);
  const std::string image = registry.image();
  REQUIRE(docker({"pull", "-q", image}).exit_code == 0);
  const std::string volumes_dir = engined.dir() + "/data/volumes";

  SECTION("named volumes keep data across containers and refuse removal while in use") {
    CHECK(docker.Ok({"volume", "create", "--label", "team=a", "data1"}) == "data1");
    CHECK(docker.Ok({"volume", "ls", "--format", "{{.Driver}} {{.Name}}"}) == "local data1");
    CHECK(docker.Ok({"volume", "inspect", "-f", "{{.Mountpoint}} {{.Labels.team}} {{.Scope}}",
                     "data1"}) == volumes_dir + "/data1/_data a local");
    CHECK(docker.Ok({"volume", "ls", "-q", "--filter", "label=team=b"}).empty());
    docker.Ok({"run", "--rm", "-v", "data1:/data", image, "sh", "-c", "echo kept > /data/f"});
    CHECK(docker.Ok({"run", "--rm", "-v", "data1:/other:ro", image, "cat", "/other/f"}) == "kept");
    ProcessResult ro =
        docker({"run", "--rm", "-v", "data1:/other:ro", image, "touch", "/other/new"});
    CHECK(ro.exit_code != 0);
    CHECK(absl::StrContains(ro.err, "Read-only file system"));

    docker.Ok({"create", "--name", "holder", "-v", "data1:/data", image, "true"});
    const std::string mounts =
        docker.Ok({"inspect", "-f",
                   "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}} {{.Mode}}{{end}}",
                   "holder"});
    CHECK(mounts == "volume data1 /data true z");
    ProcessResult in_use = docker({"volume", "rm", "data1"});
    INFO(Describe(in_use));
    CHECK(in_use.exit_code != 0);
    CHECK(absl::StrContains(in_use.err, "volume is in use"));
    CHECK(docker.Ok({"volume", "ls", "-q", "--filter", "dangling=true"}).empty());
    // --volumes-from shares holder's volume, read-only here.
    CHECK(docker.Ok({"run", "--rm", "--volumes-from", "holder:ro", image, "cat", "/data/f"}) ==
          "kept");
    docker.Ok({"rm", "holder"});
    CHECK(docker.Ok({"volume", "ls", "-q", "--filter", "dangling=true"}) == "data1");
    CHECK(docker.Ok({"volume", "rm", "data1"}) == "data1");
    CHECK(docker.Ok({"volume", "ls", "-q"}).empty());
    struct stat st;
    CHECK(::stat((volumes_dir + "/data1").c_str(), &st) != 0);
    ProcessResult missing = docker({"volume", "inspect", "data1"});
    CHECK(missing.exit_code != 0);
    CHECK(absl::StrContains(missing.err, "no such volume"));
  }

  SECTION("an empty volume over an image directory is filled from it, once") {
    CHECK(docker.Ok({"run", "--rm", "-v", "etc:/etc", image, "cat", "/etc/motd"}) ==
          "hello from layer 2");
    // The copy is the volume's now: changes stay, the image is not read again.
    docker.Ok({"run", "--rm", "-v", "etc:/etc", image, "sh", "-c", "echo changed > /etc/motd"});
    CHECK(docker.Ok({"run", "--rm", "-v", "etc:/x", image, "cat", "/x/motd"}) == "changed");
    // Ownership and modes come along.
    CHECK(docker.Ok({"run", "--rm", "-v", "etc:/x", image, "stat", "-c", "%a %u", "/x/passwd"}) ==
          "644 0");
    // nocopy leaves a new volume empty.
    CHECK(docker.Ok({"run", "--rm", "-v", "empty:/etc:nocopy", image, "ls", "/etc"}).empty());
    docker.Ok({"volume", "rm", "etc", "empty"});
  }

  SECTION("anonymous volumes go with --rm and rm -v, and prune takes the rest") {
    CHECK(docker.Ok({"run", "--rm", "-v", "/anon", image, "ls", "/anon"}).empty());
    CHECK(docker.Ok({"volume", "ls", "-q"}).empty());

    docker.Ok({"run", "-d", "--name", "keep", "-v", "/scratch", image, "sleep", "60"});
    const std::string name = docker.Ok({"volume", "ls", "-q"});
    CHECK(name.size() == 64);
    CHECK(docker.Ok({"volume", "inspect", "-f",
                     "{{index .Labels \"com.docker.volume.anonymous\"}}|", name}) == "|");
    docker.Ok({"rm", "-f", "-v", "keep"});
    CHECK(docker.Ok({"volume", "ls", "-q"}).empty());

    docker.Ok({"run", "--name", "left", "-v", "/scratch", image, "true"});
    docker.Ok({"volume", "create", "named"});
    docker.Ok({"rm", "left"});
    const std::string left = docker.Ok({"volume", "ls", "-q", "--filter", "dangling=true"});
    CHECK(Lines(left).size() == 2);
    // Since API 1.42 prune takes anonymous volumes only, unless all=true.
    const std::string pruned = docker.Ok({"volume", "prune", "-f"});
    CHECK(absl::StrContains(pruned, "Deleted Volumes:"));
    CHECK(docker.Ok({"volume", "ls", "-q"}) == "named");
    CHECK(absl::StrContains(docker.Ok({"volume", "prune", "-f", "--all"}), "named"));
    CHECK(docker.Ok({"volume", "ls", "-q"}).empty());
  }

  SECTION("binds honour ro and propagation; tmpfs is a tmpfs") {
    gantry::testing::TempDir host("gantry-bind");
    std::ofstream(host.path() + "/file") << "from the host\n";
    CHECK(docker.Ok({"run", "--rm", "-v", host.path() + ":/h", image, "cat", "/h/file"}) ==
          "from the host");
    ProcessResult ro =
        docker({"run", "--rm", "-v", host.path() + ":/h:ro", image, "touch", "/h/new"});
    CHECK(ro.exit_code != 0);
    CHECK(absl::StrContains(ro.err, "Read-only file system"));
    docker.Ok({"run", "--rm", "--mount", "type=bind,src=" + host.path() + ",dst=/h", image, "touch",
               "/h/written"});
    struct stat st;
    CHECK(::stat((host.path() + "/written").c_str(), &st) == 0);
    const std::string shared =
        docker.Ok({"run", "--rm", "--mount",
                   "type=bind,src=" + host.path() + ",dst=/h,bind-propagation=rshared", image,
                   "grep", " /h ", "/proc/self/mountinfo"});
    CHECK(absl::StrContains(shared, "shared:"));
    const std::string private_bind = docker.Ok(
        {"run", "--rm", "-v", host.path() + ":/h", image, "grep", " /h ", "/proc/self/mountinfo"});
    CHECK(!absl::StrContains(private_bind, "shared:"));
    // A failed create leaves nothing behind, not even the volume it made.
    ProcessResult missing = docker({"run", "--rm", "-v", "made-then-dropped:/v", "--mount",
                                    "type=bind,src=/nonexistent/gantry,dst=/h", image, "true"});
    CHECK(missing.exit_code != 0);
    CHECK(absl::StrContains(missing.err, "bind source path does not exist"));
    CHECK(docker.Ok({"volume", "ls", "-q"}).empty());
    CHECK(docker.Ok({"ps", "-aq"}).empty());

    CHECK(absl::StartsWith(
        docker.Ok({"run", "--rm", "--tmpfs", "/t:size=1m", image, "grep", " /t ", "/proc/mounts"}),
        "tmpfs /t tmpfs rw,nosuid,nodev,noexec"));
    CHECK(absl::StrContains(
        docker.Ok({"run", "--rm", "--mount", "type=tmpfs,dst=/t2,tmpfs-size=1048576", image, "grep",
                   " /t2 ", "/proc/mounts"}),
        "size=1024k"));
  }

  SECTION("a local volume with a device is mounted while in use") {
    docker.Ok({"volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt",
               "o=size=2m", "ramdisk"});
    CHECK(absl::StrContains(
        docker.Ok({"run", "--rm", "-v", "ramdisk:/r", image, "grep", " /r ", "/proc/mounts"}),
        "tmpfs /r tmpfs rw"));
    CHECK(MountsUnder(volumes_dir) == 0);
    ProcessResult bad = docker({"volume", "create", "--opt", "colour=blue", "bad"});
    CHECK(bad.exit_code != 0);
    CHECK(absl::StrContains(bad.err, "invalid option: \"colour\""));
    docker.Ok({"volume", "rm", "ramdisk"});
  }

  SECTION("system df counts volumes") {
    docker.Ok({"volume", "create", "sized"});
    docker.Ok({"run", "--rm", "-v", "sized:/s", image, "dd", "if=/dev/zero", "of=/s/blob",
               "bs=1024", "count=100"});
    const std::string df = docker.Ok({"system", "df", "-v", "--format", "{{json .Volumes}}"});
    CHECK(absl::StrContains(df, "\"Name\":\"sized\""));
    CHECK(absl::StrContains(df, "\"Size\":\"102.4kB\""));
    docker.Ok({"volume", "rm", "sized"});
  }

  CHECK(docker.Ok({"ps", "-aq"}).empty());
  CHECK(MountsUnder(engined.dir()) == 0);
}
