// What a container observes for each area of config.json, run by the built
// `ocirun` binary: the values below are what the same bundle shows under
// runc 1.1.5 (checked by hand on the CI host).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/oci_defaults/capabilities.h"
#include "common/oci_defaults/seccomp_profile.h"
#include "tests/integration/ocirun_test_util.h"

namespace {

using namespace ocirun_test;
using nlohmann::json;

// Runs `script` in the container and REQUIREs exit code 0; returns stdout.
std::string Observe(OcirunEnv& env, const std::string& script) {
  env.SetScript(script);
  auto r = env.Run();
  INFO("script: " << script << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// "Key:\tvalue" lines of /proc/self/status as the container saw them.
std::map<std::string, std::string> StatusFields(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (kv.size() == 2) out[kv[0]] = Trim(kv[1]);
  }
  return out;
}

// The mountinfo line whose mount point is `mount_point`, split in fields.
struct MountLine {
  std::string root, mount_point, options, fstype, source, super_options;
};
std::optional<MountLine> FindMount(const std::string& mountinfo, const std::string& mount_point) {
  std::optional<MountLine> found;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 3 >= f.size() || f[4] != mount_point) continue;
    found = MountLine{f[3], f[4], f[5], f[dash + 1], f[dash + 2], f[dash + 3]};  // last one wins
  }
  return found;
}

std::vector<std::string> Split(const std::string& s, char sep = ',') {
  return absl::StrSplit(s, sep, absl::SkipEmpty());
}
bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string NsInode(const std::string& link) {
  char buf[64] = {};
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

void AddMount(OcirunEnv& env, const std::string& dest, const std::string& type,
              const std::string& source, const std::vector<std::string>& options) {
  env.config()["mounts"].push_back(
      {{"destination", dest}, {"type", type}, {"source", source}, {"options", options}});
}

}  // namespace

TEST_CASE("hostname, environment and working directory", "[ocirun][config]") {
  OcirunEnv env;
  env.config()["hostname"] = "itest-host";
  env.config()["process"]["env"] = {"PATH=/bin", "GREETING=hello world", "TERM=dumb"};
  env.config()["process"]["cwd"] = "/tmp";
  std::string out = Observe(env, "hostname; echo \"$GREETING\"; pwd; env | sort");
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() >= 3);
  CHECK(lines[0] == "itest-host");
  CHECK(lines[1] == "hello world");
  CHECK(lines[2] == "/tmp");
  // Only the configured variables (sh adds PWD and SHLVL); nothing of ours leaks in.
  std::vector<std::string> env_lines(lines.begin() + 3, lines.end());
  CHECK(Has(env_lines, "GREETING=hello world"));
  CHECK(Has(env_lines, "PATH=/bin"));
  CHECK(Has(env_lines, "TERM=dumb"));
  for (const auto& l : env_lines) {
    INFO(l);
    CHECK((absl::StartsWith(l, "GREETING=") || absl::StartsWith(l, "PATH=") ||
           absl::StartsWith(l, "TERM=") || absl::StartsWith(l, "PWD=") ||
           absl::StartsWith(l, "SHLVL=") || absl::StartsWith(l, "HOME=")));
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  CHECK(std::string(host) != "itest-host");

  SECTION("a missing cwd is created, as runc does") {
    env.config()["process"]["cwd"] = "/made/by/ocirun";
    CHECK(Trim(Observe(env, "pwd")) == "/made/by/ocirun");
  }
}

TEST_CASE("process.user sets uid, gid, additional groups and umask", "[ocirun][config]") {
  OcirunEnv env;
  env.config()["process"]["user"] = {
      {"uid", 1000}, {"gid", 1000}, {"additionalGids", {5, 65534}}, {"umask", 077}};
  std::string out = Observe(env, "id; umask; grep -E '^(Uid|Gid|Groups):' /proc/self/status");
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "uid=1000(gantry) gid=1000(gantry) groups=5(tty),65534(nogroup)");
  CHECK(lines[1] == "0077");
  auto status = StatusFields(out);
  CHECK(status["Uid"] == "1000\t1000\t1000\t1000");
  CHECK(status["Gid"] == "1000\t1000\t1000\t1000");
  CHECK(status["Groups"] == "5 65534");
}

TEST_CASE("root.readonly makes / read-only; without it writes reach the bundle's rootfs",
          "[ocirun][config]") {
  OcirunEnv env;
  SECTION("readonly (runc's default spec)") {
    env.SetScript("touch /written");
    auto r = env.Run();
    CHECK(r.exit_code == 1);
    CHECK(absl::StrContains(r.err, "Read-only file system"));
    CHECK_FALSE(Exists(env.bundle() + "/rootfs/written"));
    auto root = FindMount(Observe(env, "cat /proc/self/mountinfo"), "/");
    REQUIRE(root);
    CHECK(Has(Split(root->options), "ro"));
  }
  SECTION("writable") {
    env.config()["root"]["readonly"] = false;
    Observe(env, "echo from the container > /written");
    CHECK(ReadFile(env.bundle() + "/rootfs/written") == "from the container\n");
  }
}

TEST_CASE("maskedPaths hide files and directories; readonlyPaths are read-only mounts",
          "[ocirun][config]") {
  OcirunEnv env;
  // /proc/kcore is absent on some kernels (the CI host's): mask what exists.
  REQUIRE(!ReadFile("/proc/timer_list").value_or("").empty());
  std::string out = Observe(env,
                            "wc -c < /proc/timer_list; ls -A /proc/acpi | wc -l; "
                            "(echo x > /proc/sys/kernel/hostname) 2>&1; "
                            "cat /proc/self/mountinfo");
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() > 3);
  CHECK(Trim(lines[0]) == "0");  // /proc/timer_list reads as /dev/null
  CHECK(Trim(lines[1]) == "0");  // /proc/acpi is an empty tmpfs
  CHECK(absl::StrContains(lines[2], "Read-only file system"));

  auto acpi = FindMount(out, "/proc/acpi");
  REQUIRE(acpi);
  CHECK(acpi->fstype == "tmpfs");
  CHECK(Has(Split(acpi->options), "ro"));
  auto timer_list = FindMount(out, "/proc/timer_list");
  REQUIRE(timer_list);
  CHECK(timer_list->root == "/null");  // a bind of /dev/null
  for (const char* path : {"/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq"}) {
    INFO(path);
    auto m = FindMount(out, path);
    REQUIRE(m);
    CHECK(m->fstype == "proc");
    CHECK(Has(Split(m->options), "ro"));
    CHECK(m->root == std::string(path).substr(5));  // a bind of that part of /proc
  }
}

TEST_CASE("tmpfs and bind mounts appear in mountinfo with their options", "[ocirun][config]") {
  OcirunEnv env;
  std::string ro_dir = env.MakeDir("ro-src");
  std::string rw_dir = env.MakeDir("rw-src");
  WriteFile(ro_dir + "/data", "read me\n");
  std::string file = env.dir() + "/single-file";
  WriteFile(file, "a single file\n");
  AddMount(env, "/scratch", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=755", "size=1m"});
  AddMount(env, "/data-ro", "bind", ro_dir, {"rbind", "ro"});
  AddMount(env, "/data-rw", "bind", rw_dir, {"rbind", "rw"});
  AddMount(env, "/etc/single-file", "bind", file, {"bind", "ro"});

  std::string out = Observe(
      env,
      "cat /data-ro/data; touch /data-ro/x 2>/dev/null && echo ro-writable || echo ro-refused; "
      "echo from the container > /data-rw/out; cat /etc/single-file; "
      "echo x > /scratch/x && echo scratch-ok; cat /proc/self/mountinfo");
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() > 4);
  CHECK(lines[0] == "read me");
  CHECK(lines[1] == "ro-refused");
  CHECK(lines[2] == "a single file");
  CHECK(lines[3] == "scratch-ok");
  CHECK(ReadFile(rw_dir + "/out") == "from the container\n");
  CHECK_FALSE(Exists(ro_dir + "/x"));

  auto scratch = FindMount(out, "/scratch");
  REQUIRE(scratch);
  CHECK(scratch->fstype == "tmpfs");
  CHECK(Has(Split(scratch->options), "rw"));
  CHECK(Has(Split(scratch->options), "nosuid"));
  CHECK(Has(Split(scratch->options), "nodev"));
  CHECK(Has(Split(scratch->super_options), "size=1024k"));
  CHECK(Has(Split(scratch->super_options), "mode=755"));

  auto ro = FindMount(out, "/data-ro");
  REQUIRE(ro);
  CHECK(ro->root == ro_dir);
  CHECK(Has(Split(ro->options), "ro"));
  auto rw = FindMount(out, "/data-rw");
  REQUIRE(rw);
  CHECK(rw->root == rw_dir);
  CHECK(Has(Split(rw->options), "rw"));
  auto single = FindMount(out, "/etc/single-file");
  REQUIRE(single);
  CHECK(single->root == file);
  CHECK(Has(Split(single->options), "ro"));

  // Nothing of the container's mounts propagated back to the host.
  CHECK(LinesContaining(ReadFile("/proc/self/mountinfo").value_or(""), env.dir()).empty());
}

TEST_CASE("process.capabilities become the sets in /proc/self/status", "[ocirun][config]") {
  OcirunEnv env;
  const char* script = "grep -E '^(Cap|NoNewPrivs)' /proc/self/status";

  SECTION("runc's default spec: AUDIT_WRITE, KILL, NET_BIND_SERVICE") {
    auto s = StatusFields(Observe(env, script));
    CHECK(s["CapEff"] == "0000000020000420");
    CHECK(s["CapPrm"] == "0000000020000420");
    CHECK(s["CapBnd"] == "0000000020000420");
    CHECK(s["CapInh"] == "0000000000000000");
    CHECK(s["CapAmb"] == "0000000000000000");  // root gets no ambient set (runc's output)
    CHECK(s["NoNewPrivs"] == "1");
  }
  SECTION("root with a bounding set wider than the effective one") {
    env.config()["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_KILL"}},
                                               {"effective", {"CAP_KILL"}},
                                               {"permitted", {"CAP_KILL"}}};
    auto s = StatusFields(Observe(env, script));
    CHECK(s["CapBnd"] == "0000000000000021");
    CHECK(s["CapEff"] == "0000000000000020");
    CHECK(s["CapPrm"] == "0000000000000020");
    CHECK(s["CapInh"] == "0000000000000000");
  }
  SECTION("a non-root user keeps capabilities through the ambient set") {
    env.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    env.config()["process"]["capabilities"] = {
        {"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
        {"effective", {"CAP_KILL"}},
        {"permitted", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
        {"inheritable", {"CAP_KILL"}},
        {"ambient", {"CAP_KILL"}}};
    auto s = StatusFields(Observe(env, script));
    CHECK(s["CapBnd"] == "0000000000000421");
    CHECK(s["CapEff"] == "0000000000000020");
    CHECK(s["CapPrm"] == "0000000000000020");
    CHECK(s["CapInh"] == "0000000000000020");
    CHECK(s["CapAmb"] == "0000000000000020");
  }
  SECTION("noNewPrivileges false leaves NoNewPrivs 0") {
    env.config()["process"]["noNewPrivileges"] = false;
    CHECK(StatusFields(Observe(env, script))["NoNewPrivs"] == "0");
  }
}

TEST_CASE("rlimits and oomScoreAdj apply to the container's process", "[ocirun][config]") {
  OcirunEnv env;
  env.config()["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 123}, {"hard", 456}},
                                        {{"type", "RLIMIT_NPROC"}, {"soft", 77}, {"hard", 78}}};
  env.config()["process"]["oomScoreAdj"] = 321;
  std::string out = Observe(env, "ulimit -n; ulimit -Hn; ulimit -u; cat /proc/self/oom_score_adj");
  CHECK(out == "123\n456\n77\n321\n");
}

TEST_CASE("linux.sysctl is written inside the container's namespaces", "[ocirun][config]") {
  OcirunEnv env;
  std::string host_before = ReadFile("/proc/sys/net/ipv4/ip_forward").value_or("?");
  std::string wanted = Trim(host_before) == "1" ? "0" : "1";
  env.config()["linux"]["sysctl"] = {{"net.ipv4.ip_forward", wanted}};
  CHECK(Trim(Observe(env, "cat /proc/sys/net/ipv4/ip_forward")) == wanted);
  CHECK(ReadFile("/proc/sys/net/ipv4/ip_forward") == host_before);
}

TEST_CASE("namespaces are created anew, or joined when given a path", "[ocirun][config]") {
  OcirunEnv env;
  std::string script = "for ns in net uts ipc mnt pid cgroup; do readlink /proc/self/ns/$ns; done";
  SECTION("created: each listed namespace differs from the host's; others are shared") {
    std::vector<std::string> seen = absl::StrSplit(Observe(env, script), '\n', absl::SkipEmpty());
    REQUIRE(seen.size() == 6);
    const char* names[] = {"net", "uts", "ipc", "mnt", "pid", "cgroup"};
    for (size_t i = 0; i < 5; ++i) {
      INFO(names[i]);
      CHECK(seen[i] != NsInode(absl::StrCat("/proc/self/ns/", names[i])));
    }
    CHECK(seen[5] == NsInode("/proc/self/ns/cgroup"));  // no cgroup namespace in the spec
  }
  SECTION("without a cgroup namespace, /proc/self/cgroup names the container's cgroups") {
    env.SetScript("grep -E ':(pids|freezer|):' /proc/self/cgroup");
    std::string id = env.NewId();
    auto r = env.Ocirun({"run", "--bundle", env.bundle(), id});
    REQUIRE(r.exit_code == 0);
    std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
    REQUIRE(lines.size() == 3);
    for (const auto& line : lines) {
      INFO(line);
      CHECK(absl::EndsWith(line, "/" + id));
    }
  }
  SECTION("a new cgroup namespace is rooted at the container's cgroup (runc: every line ends :/)") {
    env.config()["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    std::string out = Observe(env, "cat /proc/self/cgroup; readlink /proc/self/ns/cgroup");
    std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
    REQUIRE(lines.size() > 2);
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
      INFO(lines[i]);
      CHECK(absl::EndsWith(lines[i], ":/"));
    }
    CHECK(lines.back() != NsInode("/proc/self/ns/cgroup"));
  }
  SECTION("joined by path: a second container shares the first one's network namespace") {
    env.SetScript("exec sleep 1000");
    std::string first = env.RunDetached();
    pid_t pid = env.Pid(first);
    std::string first_net = NsInode(absl::StrCat("/proc/", pid, "/ns/net"));
    REQUIRE(!first_net.empty());

    for (auto& ns : env.config()["linux"]["namespaces"])
      if (ns["type"] == "network") ns["path"] = absl::StrCat("/proc/", pid, "/ns/net");
    std::vector<std::string> seen = absl::StrSplit(Observe(env, script), '\n', absl::SkipEmpty());
    REQUIRE(seen.size() == 6);
    CHECK(seen[0] == first_net);
    CHECK(seen[1] != NsInode(absl::StrCat("/proc/", pid, "/ns/uts")));  // the rest are new
  }
}

TEST_CASE("a user namespace maps the container's root to the configured host ids",
          "[ocirun][config]") {
  OcirunEnv env;
  env.config()["linux"]["namespaces"].push_back({{"type", "user"}});
  env.config()["linux"]["uidMappings"] = {
      {{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  env.config()["linux"]["gidMappings"] = {
      {{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  env.SetScript(
      "id; cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u:%g' /bin; "
      "echo x > /etc/x 2>/dev/null || echo cannot write");
  env.config()["root"]["readonly"] = false;
  env.Save();
  std::string id = env.NewId();
  auto r = env.Ocirun({"run", "--bundle", env.bundle(), id});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  INFO(r.out);
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "uid=0(root) gid=0(root)");
  for (int i : {1, 2}) {
    std::vector<std::string> f = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    CHECK(f == std::vector<std::string>{"0", "100000", "65536"});
  }
  // The rootfs belongs to host root, which is unmapped: it shows as the overflow id,
  // and the container's root may not write to it.
  CHECK(lines[3] == "65534:65534");
  CHECK(lines[4] == "cannot write");
}

TEST_CASE("a rootfs owned by the mapped ids belongs to the container's root", "[ocirun][config]") {
  OcirunEnv env;
  env.config()["linux"]["namespaces"].push_back({{"type", "user"}});
  env.config()["linux"]["uidMappings"] = {
      {{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  env.config()["linux"]["gidMappings"] = {
      {{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  env.config()["root"]["readonly"] = false;
  env.SetScript("stat -c '%u:%g' / /bin/busybox; echo x > /etc/x && cat /etc/x; ls -ln /dev/null");
  // What a user-namespaced image looks like: unpacked shifted to the range.
  REQUIRE(
      RunProcess({"/bin/chown", "-R", "-h", "100000:100000", env.bundle() + "/rootfs"}).exit_code ==
      0);
  auto r = env.Run();
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "0:0");
  CHECK(lines[1] == "0:0");
  CHECK(lines[2] == "x");
  // /dev comes from the runtime, made inside the namespace's view.
  CHECK(absl::StrContains(lines[3], "1,"));
}

TEST_CASE("linux.devices creates device nodes the devices cgroup allows", "[ocirun][config]") {
  OcirunEnv env;
  // c 1:5 is /dev/zero's number: readable, and harmless.
  env.config()["linux"]["devices"] = {{{"path", "/dev/itest-zero"},
                                       {"type", "c"},
                                       {"major", 1},
                                       {"minor", 5},
                                       {"fileMode", 0644},
                                       {"uid", 1000},
                                       {"gid", 5}}};
  std::string out = Observe(env,
                            "stat -c '%F %t:%T %a %u:%g' /dev/itest-zero; "
                            "head -c 4 /dev/itest-zero | od -An -tx1; "
                            "ls /dev | sort | tr '\\n' ' '");
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "character special file 1:5 644 1000:5");
  CHECK(Trim(lines[1]) == "00 00 00 00");
  // runc's /dev: the default devices, the stdio links, ptmx, and ours.
  CHECK(Trim(lines[2]) ==
        "fd full itest-zero mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero");

  SECTION("the devices cgroup lists it as allowed") {
    env.SetScript("exec sleep 1000");
    std::string id = env.RunDetached();
    std::string devices = HostCgroupDir(env.Pid(id), "devices");
    auto list = ReadFile(devices + "/devices.list");
    REQUIRE(list);
    CHECK(!LinesContaining(*list, "c 1:5 rwm").empty());
    CHECK(LinesContaining(*list, "a *:* rwm").empty());  // default deny
  }
}

TEST_CASE("memory and pids limits are applied to the container's cgroup", "[ocirun][config]") {
  OcirunEnv env;
  SECTION("as the container sees them, and on the host") {
    env.config()["linux"]["resources"]["memory"] = {{"limit", 64 * 1024 * 1024}};
    env.config()["linux"]["resources"]["pids"] = {{"limit", 10}};
    std::string out = Observe(
        env, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max");
    CHECK(out == "67108864\n10\n");

    env.SetScript("exec sleep 1000");
    std::string id = env.RunDetached();
    pid_t pid = env.Pid(id);
    CHECK(ReadFile(HostCgroupDir(pid, "memory") + "/memory.limit_in_bytes") == "67108864\n");
    CHECK(ReadFile(HostCgroupDir(pid, "pids") + "/pids.max") == "10\n");
  }
  SECTION("pids.max=1 and 4 MiB still run `echo it works`, and forking is refused") {
    env.config()["linux"]["resources"]["memory"] = {{"limit", 4 * 1024 * 1024}};
    env.config()["linux"]["resources"]["pids"] = {{"limit", 1}};
    CHECK(Observe(env, "echo it works") == "it works\n");
    env.SetScript("/bin/sleep 0 && echo forked");
    auto r = env.Run();
    CHECK(r.exit_code != 0);
    CHECK(r.out.empty());
    CHECK(absl::StrContains(r.err, "can't fork"));
  }
}

TEST_CASE("hooks run at their points with the state on stdin", "[ocirun][config][hooks]") {
  OcirunEnv env;
  std::string marks = env.MakeDir("marks");
  auto hook = [&](const std::string& name) {
    return json{{"path", "/bin/sh"},
                {"args", {"sh", "-c", absl::StrCat("cat > ", marks, "/", name)}}};
  };
  auto read_state = [&](const std::string& name) -> json {
    auto text = ReadFile(marks + "/" + name);
    if (!text) return json();
    return json::parse(*text, nullptr, false);
  };

  SECTION("prestart and createRuntime at create, poststart at start, poststop at delete") {
    env.config()["hooks"] = {{"prestart", {hook("prestart")}},
                             {"createRuntime", {hook("createRuntime")}},
                             {"poststart", {hook("poststart")}},
                             {"poststop", {hook("poststop")}}};
    env.SetScript("exec sleep 1000");
    std::string id = env.Create();
    pid_t pid = env.Pid(id);
    for (const char* name : {"prestart", "createRuntime"}) {
      INFO(name);
      json s = read_state(name);
      REQUIRE(s.is_object());
      CHECK(s["id"] == id);
      CHECK(s["pid"] == pid);
      CHECK(s["status"] == "creating");
      CHECK(s["bundle"] == env.bundle());
      CHECK(s.contains("ociVersion"));
    }
    // As the spec says; runc 1.1.5 runs poststart already at create.
    CHECK_FALSE(Exists(marks + "/poststart"));

    REQUIRE(env.Ocirun({"start", id}).exit_code == 0);
    json poststart = read_state("poststart");
    REQUIRE(poststart.is_object());
    CHECK(poststart["id"] == id);
    CHECK(poststart["pid"] == pid);
    CHECK_FALSE(Exists(marks + "/poststop"));

    REQUIRE(env.Ocirun({"delete", "--force", id}).exit_code == 0);
    json poststop = read_state("poststop");
    REQUIRE(poststop.is_object());
    CHECK(poststop["id"] == id);
    CHECK(poststop["status"] == "stopped");
    CHECK(poststop["bundle"] == env.bundle());
  }

  SECTION("a hook that outlives its timeout is killed and fails create") {
    env.config()["hooks"] = {
        {"createRuntime", {{{"path", "/bin/sleep"}, {"args", {"sleep", "10"}}, {"timeout", 1}}}}};
    env.SetScript("true");
    env.Save();
    std::string id = env.NewId();
    auto start = std::chrono::steady_clock::now();
    auto r = env.Ocirun({"create", "--bundle", env.bundle(), id});
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    CHECK(r.exit_code == 1);
    CHECK(absl::StrContains(r.err, "createRuntime hook #0"));
    CHECK(absl::StrContains(r.err, "timed out"));
    CHECK_FALSE(Exists(env.root() + "/" + id));
    CHECK(ExistingCgroupDirs(id).empty());
  }

  SECTION("a failing prestart hook fails create and leaves nothing behind") {
    env.config()["hooks"] = {
        {"prestart",
         {{{"path", "/bin/sh"},
           {"args", {"sh", "-c", absl::StrCat("cat > ", marks, "/state; exit 3")}}}}}};
    env.SetScript("exec sleep 1000");
    env.Save();
    std::string id = env.NewId();
    auto r = env.Ocirun({"create", "--bundle", env.bundle(), id});
    CHECK(r.exit_code == 1);
    CHECK(absl::StrContains(r.err, "prestart hook"));
    CHECK(absl::StrContains(r.err, "exited with status 3"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

    json s = read_state("state");
    REQUIRE(s.is_object());
    pid_t pid = s["pid"].get<pid_t>();
    CHECK(Eventually([&] { return !ProcessAlive(pid); }));
    CHECK_FALSE(Exists(env.root() + "/" + id));
    CHECK(ExistingCgroupDirs(id).empty());
    CHECK(env.Ocirun({"list", "-q"}).out.empty());
  }
}

TEST_CASE("rootfsPropagation shared and rshared give a shared / (pivot_root still works)",
          "[ocirun][config]") {
  for (const char* propagation : {"shared", "rshared", "private"}) {
    OcirunEnv env;
    env.config()["linux"]["rootfsPropagation"] = propagation;
    // Field 5 is the mount point; optional fields follow the options.
    env.SetScript("awk '$5 == \"/\"' /proc/self/mountinfo");
    auto r = env.Run();
    INFO(propagation << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    INFO(r.out);
    CHECK(absl::StrContains(r.out, "shared:") == (std::string(propagation) != "private"));
  }
}

TEST_CASE("a seccomp allow-list without close_range still runs the process", "[ocirun][config]") {
  // runtime-tools' default profile is such a list: Docker's, minus close_range.
  OcirunEnv env;
  auto profile =
      gantry::oci_defaults::DockerDefaultSeccomp(gantry::oci_defaults::DockerDefaultCapabilities(),
                                                 gantry::oci_defaults::SeccompPlatform::Host());
  REQUIRE(profile.ok());
  for (auto& rule : (*profile)["syscalls"]) {
    auto& names = rule["names"];
    names.erase(std::remove(names.begin(), names.end(), "close_range"), names.end());
  }
  env.config()["linux"]["seccomp"] = *profile;
  env.SetScript("echo process called");
  auto r = env.Run();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "process called\n");
}
