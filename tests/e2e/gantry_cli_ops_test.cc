// gantry's operations commands against a private engined: stats, events,
// cp, save/load, push, system df and the prunes, compared with the docker
// CLI's output where both can be run on the same state; and -H ssh://
// through Debian's sshd on 127.0.0.1 with keys made in the test.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "tests/e2e/engined_process.h"
#include "tests/integration/registry_test_util.h"

namespace {

using engined_test::Cells;
using engined_test::Cli;
using engined_test::Describe;
using engined_test::Engined;
using engined_test::Eventually;
using engined_test::kDockerCli;
using engined_test::kGantryCli;
using engined_test::Lines;
using engined_test::MountsUnder;
using engined_test::Registry;
using ocirun_test::ProcessResult;

}  // namespace

TEST_CASE("gantry stats, events, cp, save/load, push, system df and prune", "[gantry][ops]") {
  Registry registry;
  Engined engined;
  Cli gantry(kGantryCli, engined);
  Cli docker(kDockerCli, engined);
  const std::string image = registry.image();
  gantry.Ok({"pull", "-q", image});

  SECTION("stats: docker's columns, a reading per container, the stream repainted") {
    const std::string id = gantry.Ok({"run", "-d", "--name", "busy", image, "sleep", "300"});
    const std::vector<std::string> table = Lines(gantry.Ok({"stats", "--no-stream"}));
    REQUIRE(table.size() == 2);
    CHECK(Cells(table[0]) == std::vector<std::string>{"CONTAINER ID", "NAME", "CPU %",
                                                      "MEM USAGE / LIMIT", "MEM %", "NET I/O",
                                                      "BLOCK I/O", "PIDS"});
    const std::vector<std::string> row = Cells(table[1]);
    REQUIRE(row.size() == 8);
    CHECK(row[0] == id.substr(0, 12));
    CHECK(row[1] == "busy");
    CHECK(absl::EndsWith(row[2], "%"));
    CHECK(absl::StrContains(row[3], "iB / "));
    CHECK(absl::StrContains(row[5], "B / "));
    CHECK(std::stoi(row[7]) >= 1);
    CHECK(absl::StartsWith(gantry.Ok({"stats", "--no-stream", "--no-trunc"}),
                           "CONTAINER ID" + std::string(64 - 12 + 3, ' ') + "NAME"));
    CHECK(gantry.Ok({"stats", "--no-stream", "--format", "{{.Container}} {{.Name}} {{.PIDs}}",
                     "busy"}) == "busy busy 1");
    CHECK(gantry.Ok({"stats", "--no-stream", "--format", "{{.Name}}"}) ==
          docker.Ok({"stats", "--no-stream", "--format", "{{.Name}}"}));
    gantry.Ok({"run", "--name", "stopped", image, "true"});
    // -a: the stopped one too (newest first), with zeros.
    const std::vector<std::string> all =
        Lines(gantry.Ok({"stats", "--no-stream", "-a", "--format", "{{.Name}} {{.MemUsage}}"}));
    REQUIRE(all.size() == 2);
    CHECK(all[0] == "stopped 0B / 0B");
    CHECK(absl::StartsWith(all[1], "busy "));
    ProcessResult missing = gantry({"stats", "--no-stream", "nothing"});
    CHECK(missing.exit_code == 1);
    CHECK(absl::StrContains(missing.err, "No such container: nothing"));

    // Streaming: the table redrawn in place every half second.
    ocirun_test::Subprocess stream({kGantryCli, "-H", gantry.host(), "stats", "busy"});
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    ::kill(stream.pid(), SIGINT);
    ProcessResult streamed = stream.Finish();
    INFO(Describe(streamed));
    CHECK(absl::StartsWith(streamed.out, "\033[HCONTAINER ID"));
    CHECK(absl::StrContains(streamed.out, " \033[K\n" + id.substr(0, 12) + "   busy "));
    CHECK(absl::StrContains(streamed.out, "\033[J\033[H"));
  }

  SECTION("events: docker's lines, filters, templates, following") {
    const std::string since = std::to_string(::time(nullptr) - 1);
    const std::string id = gantry.Ok({"run", "-d", "--name", "ev", image, "sleep", "300"});
    // Whole seconds, as docker sends a duration: the next one takes in all
    // that happened in this one.
    const std::string until = std::to_string(::time(nullptr) + 1);
    const std::vector<std::string> args = {"events",       "--since",  since,
                                           "--until",      until,      "--filter",
                                           "container=ev", "--filter", "event=start"};
    const std::string line = gantry.Ok(args);
    CHECK(std::regex_match(
        line, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container start )" + id +
                         R"( \(image=.*, name=ev\))")));
    CHECK(line == docker.Ok(args));
    CHECK(gantry.Ok({"system", "events", "--since", since, "--until", until, "--filter",
                     "container=ev", "--format", "{{.Status}} {{.Actor.Attributes.name}}"}) ==
          "create ev\nstart ev");
    const std::vector<std::string> as_json = {"events",       "--since",  since,
                                              "--until",      until,      "--filter",
                                              "event=create", "--format", "{{json .}}"};
    CHECK(absl::StartsWith(gantry.Ok(as_json), "{\"status\":\"create\",\"id\":\"" + id));
    CHECK(gantry.Ok(as_json) == docker.Ok(as_json));

    // Without --until: what happens from now on, as it happens.
    ocirun_test::Subprocess follow({kGantryCli, "-H", gantry.host(), "events", "--filter",
                                    "event=start", "--format",
                                    "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"});
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    gantry.Ok({"run", "--rm", "--name", "later", image, "true"});
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ::kill(follow.pid(), SIGINT);
    ProcessResult followed = follow.Finish();
    CHECK(followed.out == "container start later\n");
    ProcessResult bad = gantry({"events", "--since", "yesterday"});
    CHECK(bad.exit_code == 1);
    CHECK(absl::StrContains(bad.err, "failed to parse value as time or duration: \"yesterday\""));
  }

  SECTION("cp: files and directories both ways, tar on stdin and stdout, -L") {
    gantry.Ok({"run", "-d", "--name", "box", image, "sleep", "300"});
    const std::string dir = engined.dir() + "/cp";
    REQUIRE(gantry::MakeDirs(dir + "/tree/sub").ok());
    REQUIRE(gantry::WriteFileAtomic(dir + "/a.txt", "round trip\n").ok());
    REQUIRE(gantry::WriteFileAtomic(dir + "/tree/sub/deep", "deep\n").ok());
    REQUIRE(::symlink("a.txt", (dir + "/link").c_str()) == 0);

    gantry.Ok({"cp", dir + "/a.txt", "box:/tmp/"});
    CHECK(gantry.Ok({"exec", "box", "cat", "/tmp/a.txt"}) == "round trip");
    gantry.Ok({"cp", "box:/tmp/a.txt", dir + "/back.txt"});
    CHECK(*gantry::ReadFile(dir + "/back.txt") == "round trip\n");
    // A directory to a new name, and back into an existing directory.
    gantry.Ok({"cp", dir + "/tree", "box:/tmp/copied"});
    CHECK(gantry.Ok({"exec", "box", "cat", "/tmp/copied/sub/deep"}) == "deep");
    REQUIRE(gantry::MakeDirs(dir + "/into").ok());
    gantry.Ok({"container", "cp", "box:/tmp/copied", dir + "/into"});
    CHECK(*gantry::ReadFile(dir + "/into/copied/sub/deep") == "deep\n");
    // "dir/.": what the directory holds, under the new name.
    gantry.Ok({"cp", "box:/tmp/copied/.", dir + "/content"});
    CHECK(*gantry::ReadFile(dir + "/content/sub/deep") == "deep\n");
    gantry.Ok({"cp", dir + "/tree/.", "box:/tmp/content"});
    CHECK(gantry.Ok({"exec", "box", "cat", "/tmp/content/sub/deep"}) == "deep");
    // -L copies what a link points to; without it, the link.
    gantry.Ok({"cp", dir + "/link", "box:/tmp/asis"});
    gantry.Ok({"cp", "-L", dir + "/link", "box:/tmp/followed"});
    CHECK(gantry.Ok({"exec", "box", "readlink", "/tmp/asis"}) == "a.txt");
    CHECK(gantry.Ok({"exec", "box", "cat", "/tmp/followed"}) == "round trip");
    // "-": a tar out, and the same tar back in elsewhere.
    ProcessResult tar = gantry({"cp", "box:/tmp/a.txt", "-"});
    REQUIRE(tar.exit_code == 0);
    CHECK(absl::StartsWith(tar.out, "a.txt"));
    CHECK(tar.out.size() % 512 == 0);
    gantry.Ok({"cp", "-", "box:/root"}, tar.out);
    CHECK(gantry.Ok({"exec", "box", "cat", "/root/a.txt"}) == "round trip");

    ProcessResult local = gantry({"cp", dir + "/a.txt", dir + "/b.txt"});
    CHECK(local.exit_code == 1);
    CHECK(absl::StrContains(local.err, "must specify at least one container source"));
    ProcessResult missing = gantry({"cp", "box:/nonexistent", dir});
    CHECK(missing.exit_code == 1);
    CHECK(absl::StrContains(missing.err, "Could not find the file /nonexistent in container"));
  }

  SECTION("save, rmi, load: the image comes back and runs") {
    const std::string archive = engined.dir() + "/busybox.tar";
    gantry.Ok({"save", "-o", archive, image});
    struct stat st = {};
    REQUIRE(::stat(archive.c_str(), &st) == 0);
    CHECK(st.st_size > 100 * 1024);
    gantry.Ok({"rmi", image});
    CHECK(gantry.Ok({"images", "-q"}).empty());
    CHECK(gantry.Ok({"load", "-i", archive}) == "Loaded image: " + image + ":latest");
    CHECK(gantry.Ok({"run", "--rm", image, "echo", "restored"}) == "restored");
    // From stdin, quietly; and save to stdout.
    const std::string tar = *gantry::ReadFile(archive);
    CHECK(gantry.Ok({"image", "load", "-q"}, tar) == "Loaded image: " + image + ":latest");
    ProcessResult out = gantry({"image", "save", image});
    REQUIRE(out.exit_code == 0);
    CHECK(out.out.size() == tar.size());
  }

  SECTION("push to the registry, then pull it back by its new tag") {
    const std::string pushed = image + ":pushed";
    gantry.Ok({"tag", image, pushed});
    ProcessResult push = gantry({"push", pushed});
    INFO(Describe(push));
    REQUIRE(push.exit_code == 0);
    CHECK(absl::StartsWith(push.out, "The push refers to repository [" + image + "]\n"));
    CHECK(absl::StrContains(push.out, ": Pushed\n"));
    CHECK(absl::StrContains(push.out, "pushed: digest: sha256:"));
    CHECK(gantry.Ok({"push", "-q", pushed}) == pushed);
    gantry.Ok({"rmi", pushed});
    gantry.Ok({"rmi", image});
    CHECK(absl::StrContains(gantry.Ok({"pull", pushed}), "Downloaded newer image for " + pushed));
    CHECK(gantry.Ok({"run", "--rm", pushed, "echo", "pulled back"}) == "pulled back");
  }

  SECTION("system df, and prunes with and without asking") {
    const std::string done = gantry.Ok({"create", "--name", "done", image, "true"});
    const std::vector<std::string> df = Lines(gantry.Ok({"system", "df"}));
    REQUIRE(df.size() == 5);
    CHECK(Cells(df[0]) ==
          std::vector<std::string>{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"});
    CHECK(absl::StartsWith(df[1], "Images          1         1"));
    CHECK(absl::StartsWith(df[2], "Containers      1         0"));
    CHECK(absl::StartsWith(df[3], "Local Volumes   0"));
    CHECK(absl::StartsWith(df[4], "Build Cache     0"));
    CHECK(gantry.Ok({"system", "df"}) == docker.Ok({"system", "df"}));
    CHECK(gantry.Ok({"system", "df", "-v"}) == docker.Ok({"system", "df", "-v"}));
    CHECK(gantry.Ok({"system", "info", "--format", "{{.Containers}}"}) == "1");

    ProcessResult asked = gantry({"container", "prune"}, "n\n");
    CHECK(asked.out ==
          "WARNING! This will remove all stopped containers.\n"
          "Are you sure you want to continue? [y/N] ");
    CHECK(gantry.Ok({"ps", "-aq"}) == done.substr(0, 12));
    CHECK(gantry.Ok({"container", "prune"}, "y\n") ==
          "WARNING! This will remove all stopped containers.\n"
          "Are you sure you want to continue? [y/N] Deleted Containers:\n" +
              done + "\n\nTotal reclaimed space: 0B");
    CHECK(gantry.Ok({"ps", "-aq"}).empty());

    gantry.Ok({"run", "--name", "exited", image, "true"});
    const std::string system_prune = gantry.Ok({"system", "prune", "-f"});
    CHECK(absl::StartsWith(system_prune, "Deleted Containers:\n"));
    CHECK(absl::EndsWith(system_prune, "\n\nTotal reclaimed space: 0B"));
    CHECK(gantry.Ok({"ps", "-aq"}).empty());
    CHECK(gantry.Ok({"image", "prune", "-f"}) == "Total reclaimed space: 0B");
    const std::string all = gantry.Ok({"image", "prune", "-a", "-f"});
    CHECK(absl::StartsWith(all, "Deleted Images:\nuntagged: " + image + ":latest\n"));
    CHECK(gantry.Ok({"images", "-q"}).empty());
  }

  // What a section left running goes, and with it every mount.
  for (const std::string& id : Lines(gantry.Ok({"ps", "-aq"}))) gantry.Ok({"rm", "-f", id});
  CHECK(MountsUnder(engined.dir()) == 0);
}

namespace {

// Debian's sshd on 127.0.0.1 and a free port, for root with a key made
// here; sessions get the build tree's gantry first on PATH (SetEnv), so
// the remote `gantry system dial-stdio` is the one under test.
class Sshd {
 public:
  Sshd() : port_(registry_test::FreePort()) {
    const std::string dir = dir_.path();
    for (const char* key : {"host_key", "client_key"}) {
      ProcessResult made = ocirun_test::RunProcess(
          {"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir + "/" + key});
      INFO(Describe(made));
      REQUIRE(made.exit_code == 0);
    }
    REQUIRE(gantry::WriteFileAtomic(dir + "/authorized_keys",
                                    *gantry::ReadFile(dir + "/client_key.pub"))
                .ok());
    // sshd's privilege separation directory, as the ssh service creates it.
    if (::mkdir("/run/sshd", 0755) == 0) created_run_dir_ = true;
    const std::string config =
        absl::StrCat("ListenAddress 127.0.0.1\nPort ", port_, "\nHostKey ", dir,
                     "/host_key\nAuthorizedKeysFile ", dir,
                     "/authorized_keys\nPermitRootLogin yes\nPasswordAuthentication no\n"
                     "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile none\n"
                     "SetEnv PATH=",
                     GANTRY_BINARY_DIR, "/cli:/usr/sbin:/usr/bin:/sbin:/bin\n");
    REQUIRE(gantry::WriteFileAtomic(dir + "/sshd_config", config).ok());
    process_ = std::make_unique<ocirun_test::Subprocess>(
        std::vector<std::string>{"/usr/sbin/sshd", "-D", "-e", "-f", dir + "/sshd_config"});
    REQUIRE(Eventually([&] { return registry_test::Listening(port_); }, 10));
  }
  ~Sshd() {
    ::kill(process_->pid(), SIGTERM);
    process_->Finish(std::chrono::seconds(10));
    if (created_run_dir_) ::rmdir("/run/sshd");
  }

  // The -H address of the engined listening on `socket`.
  std::string Host(const std::string& socket) const {
    return absl::StrCat("ssh://root@127.0.0.1:", port_, socket);
  }
  // The client's options (GANTRY_SSH_OPTS): the key, and no known-hosts
  // bookkeeping for a host key made a moment ago.
  std::string ClientOptions() const {
    return absl::StrCat(
        "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i ",
        dir_.path(), "/client_key");
  }

 private:
  gantry::testing::TempDir dir_{"gantry-sshd"};
  int port_;
  bool created_run_dir_ = false;
  std::unique_ptr<ocirun_test::Subprocess> process_;
};

}  // namespace

TEST_CASE("gantry -H ssh:// speaks to engined through ssh and gantry system dial-stdio",
          "[gantry][ssh]") {
  Registry registry;
  Engined engined;
  Sshd sshd;
  const std::string host = sshd.Host(engined.socket());
  auto over_ssh = [&](std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv = {"/usr/bin/env", "GANTRY_SSH_OPTS=" + sshd.ClientOptions(),
                                     kGantryCli, "-H", host};
    argv.insert(argv.end(), args.begin(), args.end());
    return ocirun_test::RunProcess(argv, input, std::chrono::seconds(60));
  };

  ProcessResult version = over_ssh({"version"});
  INFO(Describe(version));
  REQUIRE(version.exit_code == 0);
  CHECK(absl::StrContains(version.out, "Server: Gantry Engine"));
  ProcessResult ps = over_ssh({"ps"});
  CHECK(ps.exit_code == 0);
  CHECK(absl::StartsWith(ps.out, "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS"));
  // Pulls over the pipe too (the image is not there yet).
  ProcessResult hi = over_ssh({"run", "--rm", registry.image(), "echo", "hi"});
  INFO(Describe(hi));
  CHECK(hi.exit_code == 0);
  CHECK(hi.out == "hi\n");
  // stdin, and its end, cross both pipes.
  ProcessResult upper =
      over_ssh({"run", "--rm", "-i", registry.image(), "tr", "a-z", "A-Z"}, "abc\n");
  CHECK(upper.out == "ABC\n");
  CHECK(over_ssh({"run", "--rm", registry.image(), "sh", "-c", "exit 3"}).exit_code == 3);

  ProcessResult refused = ocirun_test::RunProcess(
      {"/usr/bin/env", "GANTRY_SSH_OPTS=" + sshd.ClientOptions(), kGantryCli, "-H",
       "ssh://root@127.0.0.1:" + std::to_string(registry_test::FreePort()), "ps"});
  CHECK(refused.exit_code == 1);
  CHECK(absl::StrContains(refused.err, "Connection refused"));
  CHECK(absl::StrContains(refused.err, "cannot reach engined at ssh://root@127.0.0.1:"));

  // dial-stdio alone: an HTTP request on stdin, engined's answer on stdout.
  ProcessResult ping = ocirun_test::RunProcess(
      {kGantryCli, "-H", "unix://" + engined.socket(), "system", "dial-stdio"},
      "GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(absl::StartsWith(ping.out, "HTTP/1.1 200 OK"));
  CHECK(absl::EndsWith(ping.out, "OK"));
}
