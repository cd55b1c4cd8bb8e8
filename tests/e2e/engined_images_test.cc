// Images through engined with the real docker CLI, as Docker's image
// commands behave: tag and rmi (untag, delete, the conflict with a
// container, force), save and load (the image comes back and runs, the
// fixture archive, an unnamed image loaded dangling), import of a rootfs
// tarball, system df, and image and container prune.
#include <fstream>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "tests/e2e/engined_process.h"
#include "tests/temp_dir.h"

namespace {

using engined_test::Cli;
using engined_test::Describe;
using engined_test::Engined;
using engined_test::Registry;
using ocirun_test::ProcessResult;

constexpr char kFixtureArchive[] = GANTRY_FIXTURES_DIR "/images/busybox-docker.tar";
constexpr char kFixtureConfig[] =
    "sha256:e67c637d68977f1f91cefa94680d1c34222b7a31d5b13b11add9d6637bee6663";

size_t Lines(const std::string& text) {
  return text.empty() ? 0 : std::vector<std::string>(absl::StrSplit(text, '\n')).size();
}

// The fixture archive as a docker-archive without RepoTags (manifest.json
// and blobs only): what `docker save <ID>` writes.
std::string UnnamedArchive(const std::string& dir) {
  const std::string tree = dir + "/unnamed";
  REQUIRE(gantry::MakeDirs(tree, 0755).ok());
  REQUIRE(ocirun_test::RunProcess({"/bin/tar", "-xf", kFixtureArchive, "-C", tree}).exit_code == 0);
  std::ifstream in(tree + "/manifest.json");
  nlohmann::json manifest = nlohmann::json::parse(in);
  manifest[0]["RepoTags"] = nullptr;
  REQUIRE(gantry::WriteFileAtomic(tree + "/manifest.json", manifest.dump()).ok());
  const std::string archive = dir + "/unnamed.tar";
  REQUIRE(
      ocirun_test::RunProcess({"/bin/tar", "-cf", archive, "-C", tree, "manifest.json", "blobs"})
          .exit_code == 0);
  return archive;
}

}  // namespace

TEST_CASE("the docker CLI tags, removes, saves, loads and prunes images through engined",
          "[docker][images]") {
  Registry registry;
  Engined engined;
  Cli docker(engined_test::kDockerCli, engined);
  gantry::testing::TempDir dir("engined-images");
  const std::string image = registry.image();
  const std::string tagged = image + ":latest";

  SECTION("tag and rmi: a tag is untagged, the last name deletes, a container's image conflicts") {
    docker.Ok({"pull", "-q", image});
    const std::string id = docker.Ok({"image", "inspect", "-f", "{{.Id}}", image});
    docker.Ok({"tag", image, "mine:1"});
    CHECK(docker.Ok({"images", "-q", "--no-trunc", "mine"}) == id);
    CHECK(Lines(docker.Ok({"images", "--format", "{{.Repository}}:{{.Tag}}"})) == 2);

    CHECK(docker.Ok({"rmi", "mine:1"}) == "Untagged: mine:1");
    CHECK(docker.Ok({"images", "-q", "--no-trunc"}) == id);

    const std::string short_id = id.substr(7, 12);
    const std::string user = docker.Ok({"create", "--name", "user", image, "true"});
    ProcessResult conflict = docker({"rmi", image});
    INFO(Describe(conflict));
    CHECK(conflict.exit_code != 0);
    CHECK(absl::StrContains(conflict.err, "conflict: unable to remove repository reference \"" +
                                              image + "\" (must force) - container " +
                                              user.substr(0, 12) +
                                              " is using its referenced image " + short_id));
    CHECK(absl::StrContains(docker({"rmi", short_id}).err,
                            "conflict: unable to delete " + short_id +
                                " (must be forced) - image is being used by stopped container " +
                                user.substr(0, 12)));
    const std::string forced = docker.Ok({"rmi", "-f", image});
    CHECK(absl::StrContains(forced, "Untagged: " + tagged));
    CHECK(absl::StrContains(forced, "Deleted: " + id));
    CHECK(docker.Ok({"images", "-q"}).empty());
    docker.Ok({"rm", "user"});

    // A running container's image: forced by name it is untagged and stays
    // dangling; by ID it cannot be forced.
    docker.Ok({"pull", "-q", image});
    const std::string runner = docker.Ok({"run", "-d", image, "sleep", "300"});
    CHECK(absl::StrContains(docker({"rmi", "-f", short_id}).err,
                            "conflict: unable to delete " + short_id +
                                " (cannot be forced) - image is being used by running container " +
                                runner.substr(0, 12)));
    CHECK(docker.Ok({"rmi", "-f", image}) == "Untagged: " + tagged);
    CHECK(docker.Ok({"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"}) ==
          "<none>:<none> " + short_id);
    docker.Ok({"rm", "-f", runner});
  }

  SECTION("push: a tag goes to the registry, which serves the same manifest") {
    const std::string pushed = registry.image() + "-pushed:v1";
    docker.Ok({"pull", "-q", image});
    docker.Ok({"tag", image, pushed});
    const std::string out = docker.Ok({"push", pushed});
    CHECK(absl::StrContains(out, "Pushed"));
    const std::string digest =
        docker.Ok({"image", "inspect", "-f", "{{index .RepoDigests 0}}", image});
    CHECK(absl::StrContains(out, "v1: digest: " + digest.substr(digest.find('@') + 1)));
    ocirun_test::ProcessResult inspect =
        ocirun_test::RunProcess({"/usr/bin/skopeo", "inspect", "--tls-verify=false", "--format",
                                 "{{.Digest}}", "docker://" + pushed});
    CHECK(inspect.out == digest.substr(digest.find('@') + 1) + "\n");
    ProcessResult missing = docker({"push", registry.image() + "-nothing:v1"});
    CHECK(missing.exit_code != 0);
    CHECK(absl::StrContains(missing.err, "No such image"));
  }

  SECTION("save, rmi, load: the image comes back and runs") {
    docker.Ok({"pull", "-q", image});
    const std::string id = docker.Ok({"image", "inspect", "-f", "{{.Id}}", image});
    const std::string archive = dir.path() + "/saved.tar";
    docker.Ok({"save", "-o", archive, image});
    const std::string members =
        ocirun_test::RunProcess({"/bin/tar", "-tf", archive}).out;  // docker-archive and OCI layout
    CHECK(absl::StrContains(members, "manifest.json"));
    CHECK(absl::StrContains(members, "index.json"));
    CHECK(absl::StrContains(docker.Ok({"rmi", image}), "Deleted: " + id));

    CHECK(docker.Ok({"load", "-i", archive}) == "Loaded image: " + tagged);
    CHECK(docker.Ok({"image", "inspect", "-f", "{{.Id}}", image}) == id);
    CHECK(docker.Ok({"run", "--rm", image, "echo", "ok"}) == "ok");

    // Loaded again from stdin, over itself: the same image.
    absl::StatusOr<std::string> bytes = gantry::ReadFile(archive);
    REQUIRE(bytes.ok());
    CHECK(docker.Ok({"load", "-q"}, *bytes) == "Loaded image: " + tagged);
    CHECK(docker.Ok({"images", "-q", "--no-trunc"}) == id);

    // Saved by ID the image is unnamed, and loads dangling.
    const std::string by_id = dir.path() + "/by-id.tar";
    docker.Ok({"save", "-o", by_id, id.substr(7, 12)});
    docker.Ok({"rmi", image});
    CHECK(docker.Ok({"load", "-i", by_id}) == "Loaded image ID: " + id);
    CHECK(docker.Ok({"images", "-q", "--no-trunc", "--filter", "dangling=true"}) == id);

    // --until a second ahead: Docker's until is whole seconds, and the last
    // events happened within this one.
    const std::string events = docker.Ok(
        {"events", "--since", "0", "--until", std::to_string(absl::ToUnixSeconds(absl::Now()) + 1),
         "--filter", "type=image", "--format", "{{.Action}} {{.Actor.Attributes.name}}"});
    CHECK(absl::StrContains(events, "pull " + tagged + "\nsave " + tagged + "\nuntag " + tagged +
                                        "\ndelete " + id + "\nload " + tagged));
    CHECK(absl::StrContains(events, "load " + id));

    ProcessResult missing = docker({"save", "-o", dir.path() + "/none.tar", "nosuch:1"});
    CHECK(missing.exit_code != 0);
    CHECK(absl::StrContains(missing.err, "No such image: nosuch:1"));
  }

  SECTION("load: the fixture archive, and an unnamed image as a dangling one") {
    CHECK(docker.Ok({"load", "-i", kFixtureArchive}) == "Loaded image: busybox:latest");
    CHECK(docker.Ok({"image", "inspect", "-f", "{{.Id}}", "busybox"}) == kFixtureConfig);
    CHECK(docker.Ok({"run", "--rm", "busybox", "echo", "ok"}) == "ok");
    docker.Ok({"rmi", "busybox"});

    CHECK(docker.Ok({"load", "-i", UnnamedArchive(dir.path())}) ==
          absl::StrCat("Loaded image ID: ", kFixtureConfig));
    CHECK(docker.Ok({"images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"}) ==
          absl::StrCat("<none>:<none> ", kFixtureConfig));
    CHECK(docker.Ok({"images", "-q", "--no-trunc", "--filter", "dangling=true"}) == kFixtureConfig);
    CHECK(docker.Ok({"run", "--rm", kFixtureConfig, "echo", "ok"}) == "ok");
    const std::string pruned = docker.Ok({"image", "prune", "-f"});
    CHECK(absl::StrContains(pruned, absl::StrCat("deleted: ", kFixtureConfig)));
    CHECK(docker.Ok({"images", "-q"}).empty());
  }

  SECTION("import: a rootfs tarball with changes; a tag moved away leaves the old image dangling") {
    const std::string rootfs = dir.path() + "/rootfs.tgz";
    REQUIRE(ocirun_test::RunProcess(
                {"/bin/tar", "-czf", rootfs, "-C", GANTRY_FIXTURES_DIR "/rootfs", "."})
                .exit_code == 0);
    const std::string id = docker.Ok({"import", "-c", "CMD [\"echo\", \"imported\"]", "-c",
                                      "ENV A=b", "-m", "a note", rootfs, "mine:v1"});
    CHECK(absl::StartsWith(id, "sha256:"));
    CHECK(docker.Ok({"run", "--rm", "mine:v1"}) == "imported");
    CHECK(docker.Ok({"run", "--rm", "mine:v1", "sh", "-c", "echo $A"}) == "b");
    CHECK(docker.Ok({"history", "--format", "{{.Comment}}", "mine:v1"}) == "a note");
    ProcessResult bad = docker({"import", "-c", "BOGUS x", rootfs});
    CHECK(bad.exit_code != 0);
    CHECK(absl::StrContains(bad.err, "BOGUS is not a supported instruction"));

    absl::StatusOr<std::string> bytes = gantry::ReadFile(rootfs);
    REQUIRE(bytes.ok());
    const std::string unnamed = docker.Ok({"import", "-"}, *bytes);
    CHECK(docker.Ok({"images", "-q", "--no-trunc", "--filter", "dangling=true"}) == unnamed);

    docker.Ok({"load", "-i", kFixtureArchive});
    docker.Ok({"tag", "mine:v1", "busybox"});
    CHECK(docker.Ok({"image", "inspect", "-f", "{{.Id}}", "busybox"}) == id);
    const std::string dangling =
        docker.Ok({"images", "-q", "--no-trunc", "--filter", "dangling=true"});
    CHECK(absl::StrContains(dangling, kFixtureConfig));
    CHECK(Lines(dangling) == 2);
    const std::string pruned = docker.Ok({"image", "prune", "-f"});
    CHECK(absl::StrContains(pruned, absl::StrCat("deleted: ", kFixtureConfig)));
    CHECK(absl::StrContains(pruned, "deleted: " + unnamed));
    CHECK(Lines(docker.Ok({"images", "-q"})) == 2);  // mine:v1 and busybox:latest
  }

  SECTION("system df, info's counts, container prune and image prune") {
    docker.Ok({"pull", "-q", image});
    docker.Ok({"tag", image, "other:1"});
    docker.Ok({"run", "--name", "exited", image, "true"});
    docker.Ok({"create", "--name", "created", image, "true"});
    const std::string running =
        docker.Ok({"run", "-d", "--name", "running", image, "sleep", "300"});

    ProcessResult df = docker({"system", "df"});
    INFO(Describe(df));
    REQUIRE(df.exit_code == 0);
    CHECK(absl::StrContains(df.out, "TYPE"));
    CHECK(docker.Ok({"system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"}) ==
          "Images 1 1\nContainers 3 1\nLocal Volumes 0 0\nBuild Cache 0 0");

    CHECK(
        docker.Ok({"info", "--format",
                   "{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}} {{.Images}}"}) ==
        "3 1 2 1");

    const std::string labelled =
        docker.Ok({"create", "--label", "tmp=1", "--name", "labelled", image, "true"});
    CHECK(docker.Ok({"container", "prune", "-f", "--filter", "label=tmp"}) ==
          "Deleted Containers:\n" + labelled + "\n\nTotal reclaimed space: 0B");
    const std::string containers = docker.Ok({"container", "prune", "-f"});
    CHECK(absl::StrContains(containers, "Deleted Containers:"));
    CHECK(Lines(docker.Ok({"ps", "-aq"})) == 1);
    CHECK(docker.Ok({"ps", "-aq", "--no-trunc"}) == running);

    // Tagged images are not dangling; one a container uses stays even with -a.
    CHECK(absl::StrContains(docker.Ok({"image", "prune", "-f"}), "Total reclaimed space: 0B"));
    docker.Ok({"image", "prune", "-af"});
    CHECK(Lines(docker.Ok({"images", "--format", "{{.Repository}}"})) == 2);

    docker.Ok({"rm", "-f", "running"});
    const std::string images = docker.Ok({"image", "prune", "-af"});
    CHECK(absl::StrContains(images, "Deleted Images:"));
    CHECK(absl::StrContains(images, "untagged: other:1"));
    CHECK(absl::StrContains(images, "untagged: " + tagged));
    CHECK(docker.Ok({"images", "-q"}).empty());
    CHECK(docker.Ok({"system", "df", "--format", "{{.Type}} {{.TotalCount}}"}) ==
          "Images 0\nContainers 0\nLocal Volumes 0\nBuild Cache 0");
  }
}
