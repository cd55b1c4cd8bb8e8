// Checks the fixtures built by tests/fixtures/make-fixtures.sh (CTest fixture
// "busybox") provide what later tests rely on: a runnable busybox rootfs, an
// OCI bundle, and two consistent image archives (OCI layout and docker save).
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kFixtures{GANTRY_FIXTURES_DIR};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error(p.string() + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Sha256Hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

std::string Digest(const std::string& data) { return "sha256:" + Sha256Hex(data); }

// "sha256:abc" -> "blobs/sha256/abc"
std::string BlobPath(const std::string& digest) {
  REQUIRE(digest.rfind("sha256:", 0) == 0);
  return "blobs/sha256/" + digest.substr(7);
}

struct TarEntry {
  mode_t type = 0;  // AE_IFREG, AE_IFDIR, AE_IFLNK, ...
  mode_t perm = 0;
  int64_t uid = -1;
  int64_t gid = -1;
  std::string symlink;
  std::string data;  // regular files only
};

using TarMap = std::map<std::string, TarEntry>;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

// Reads a tar (optionally compressed; libarchive detects it) held in memory.
TarMap ReadTar(const std::string& bytes) {
  ArchivePtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    throw std::runtime_error(std::string("tar open: ") + archive_error_string(a.get()));
  }
  TarMap out;
  archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    TarEntry t;
    t.type = archive_entry_filetype(e);
    t.perm = archive_entry_perm(e);
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    if (const char* l = archive_entry_symlink(e)) t.symlink = l;
    if (t.type == AE_IFREG) {
      std::array<char, 65536> buf;
      la_ssize_t n;
      while ((n = archive_read_data(a.get(), buf.data(), buf.size())) > 0) {
        t.data.append(buf.data(), static_cast<size_t>(n));
      }
      if (n < 0) throw std::runtime_error(name + ": " + archive_error_string(a.get()));
    }
    out.emplace(std::move(name), std::move(t));
  }
  if (r != ARCHIVE_EOF) {
    throw std::runtime_error(std::string("tar read: ") + archive_error_string(a.get()));
  }
  return out;
}

// Decompresses a gzip stream held in memory (libarchive "raw" format).
std::string Gunzip(const std::string& bytes) {
  ArchivePtr a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    throw std::runtime_error(std::string("gunzip open: ") + archive_error_string(a.get()));
  }
  archive_entry* e = nullptr;
  if (archive_read_next_header(a.get(), &e) != ARCHIVE_OK) {
    throw std::runtime_error(std::string("gunzip header: ") + archive_error_string(a.get()));
  }
  REQUIRE(archive_filter_code(a.get(), 0) == ARCHIVE_FILTER_GZIP);
  std::string out;
  std::array<char, 65536> buf;
  la_ssize_t n;
  while ((n = archive_read_data(a.get(), buf.data(), buf.size())) > 0) {
    out.append(buf.data(), static_cast<size_t>(n));
  }
  if (n < 0) throw std::runtime_error(std::string("gunzip: ") + archive_error_string(a.get()));
  return out;
}

const std::string& Blob(const TarMap& layout, const std::string& path) {
  auto it = layout.find(path);
  INFO("blob " << path);
  REQUIRE(it != layout.end());
  REQUIRE(it->second.type == AE_IFREG);
  return it->second.data;
}

// Fetches a blob by descriptor and checks its digest and size.
const std::string& VerifiedBlob(const TarMap& layout, const json& desc) {
  const std::string digest = desc.at("digest").get<std::string>();
  const std::string& data = Blob(layout, BlobPath(digest));
  INFO("descriptor " << desc.dump());
  CHECK(Digest(data) == digest);
  CHECK(desc.at("size").get<size_t>() == data.size());
  return data;
}

struct ImageInfo {
  json index, manifest, config;
  std::string manifest_digest;
  std::vector<std::string> layer_digests;
  std::vector<std::string> uncompressed_layers;
};

// Walks index.json -> manifest -> config + layers of an OCI image layout and
// checks every digest, size and diff_id along the way.
ImageInfo VerifyOciLayout(const TarMap& layout, bool gzip_layers) {
  ImageInfo info;
  REQUIRE(json::parse(Blob(layout, "oci-layout")).at("imageLayoutVersion") == "1.0.0");
  info.index = json::parse(Blob(layout, "index.json"));
  CHECK(info.index.at("schemaVersion") == 2);
  CHECK(info.index.at("mediaType") == "application/vnd.oci.image.index.v1+json");
  const json& manifests = info.index.at("manifests");
  REQUIRE(manifests.size() == 1);
  const json& mdesc = manifests.at(0);
  CHECK(mdesc.at("mediaType") == "application/vnd.oci.image.manifest.v1+json");
  CHECK(mdesc.at("annotations").at("org.opencontainers.image.ref.name") == "latest");
  CHECK(mdesc.at("annotations").at("io.containerd.image.name") ==
        "docker.io/library/busybox:latest");
  info.manifest_digest = mdesc.at("digest").get<std::string>();
  info.manifest = json::parse(VerifiedBlob(layout, mdesc));

  CHECK(info.manifest.at("schemaVersion") == 2);
  CHECK(info.manifest.at("mediaType") == "application/vnd.oci.image.manifest.v1+json");
  const json& cdesc = info.manifest.at("config");
  CHECK(cdesc.at("mediaType") == "application/vnd.oci.image.config.v1+json");
  info.config = json::parse(VerifiedBlob(layout, cdesc));
  CHECK(info.config.at("architecture") == "amd64");
  CHECK(info.config.at("os") == "linux");
  CHECK(info.config.at("config").at("Cmd") == json::array({"sh"}));
  bool has_path = false;
  for (const auto& env : info.config.at("config").at("Env")) {
    if (env.get<std::string>().rfind("PATH=", 0) == 0) has_path = true;
  }
  CHECK(has_path);
  CHECK(info.config.at("rootfs").at("type") == "layers");

  const json& layers = info.manifest.at("layers");
  const json& diff_ids = info.config.at("rootfs").at("diff_ids");
  REQUIRE(layers.size() >= 2);
  REQUIRE(diff_ids.size() == layers.size());
  size_t non_empty_history = 0;
  for (const auto& h : info.config.at("history")) {
    if (!h.value("empty_layer", false)) ++non_empty_history;
  }
  CHECK(non_empty_history == layers.size());

  for (size_t i = 0; i < layers.size(); ++i) {
    INFO("layer " << i);
    const json& l = layers.at(i);
    const std::string& data = VerifiedBlob(layout, l);
    std::string tar;
    if (gzip_layers) {
      CHECK(l.at("mediaType") == "application/vnd.oci.image.layer.v1.tar+gzip");
      tar = Gunzip(data);
    } else {
      CHECK(l.at("mediaType") == "application/vnd.oci.image.layer.v1.tar");
      tar = data;
    }
    CHECK(Digest(tar) == diff_ids.at(i).get<std::string>());
    info.layer_digests.push_back(l.at("digest").get<std::string>());
    info.uncompressed_layers.push_back(std::move(tar));
  }
  return info;
}

void VerifyLayerContents(const std::vector<std::string>& layers) {
  REQUIRE(layers.size() == 2);
  TarMap l1 = ReadTar(layers[0]);
  TarMap l2 = ReadTar(layers[1]);

  // Entries are relative ("bin/busybox"), owned by 0:0.
  REQUIRE(l1.count("bin/busybox"));
  CHECK(l1.at("bin/busybox").type == AE_IFREG);
  CHECK((l1.at("bin/busybox").perm & 0111) != 0);
  REQUIRE(l1.count("bin/sh"));
  CHECK(l1.at("bin/sh").type == AE_IFLNK);
  CHECK(l1.at("bin/sh").symlink == "busybox");
  REQUIRE(l1.count("tmp/"));
  CHECK(l1.at("tmp/").perm == 01777);
  REQUIRE(l1.count("etc/passwd"));
  CHECK(l1.at("etc/passwd").data.find("root:x:0:0:") != std::string::npos);
  CHECK(l1.count("etc/removed-by-layer2") == 1);
  CHECK(l1.count("opt/opaque/old.txt") == 1);
  for (const auto& [name, e] : l1) {
    INFO(name);
    CHECK(name.rfind("./", 0) != 0);
    CHECK(name.rfind("/", 0) != 0);
    CHECK(e.uid == 0);
    CHECK(e.gid == 0);
  }

  REQUIRE(l2.count("etc/motd"));
  CHECK(l2.at("etc/motd").data == "hello from layer 2\n");
  REQUIRE(l2.count("etc/.wh.removed-by-layer2"));
  CHECK(l2.at("etc/.wh.removed-by-layer2").type == AE_IFREG);
  REQUIRE(l2.count("opt/opaque/.wh..wh..opq"));
  CHECK(l2.at("opt/opaque/.wh..wh..opq").type == AE_IFREG);
  CHECK(l2.count("opt/opaque/new.txt") == 1);
  CHECK(l2.count("opt/opaque/old.txt") == 0);
  CHECK(l2.count("bin/busybox") == 0);
}

struct CommandResult {
  int status = -1;
  std::string output;
};

CommandResult Run(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool HaveProgram(const std::string& name) {
  return Run("command -v " + name + " >/dev/null").status == 0;
}

std::string Quote(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace

TEST_CASE("rootfs is a usable busybox root", "[fixtures]") {
  const fs::path root = kFixtures / "rootfs";
  REQUIRE(fs::is_directory(root));

  struct stat st {};
  REQUIRE(lstat((root / "bin/busybox").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 0111) != 0);
  REQUIRE(fs::is_symlink(root / "bin/sh"));
  CHECK(fs::read_symlink(root / "bin/sh") == "busybox");
  CHECK(access((root / "bin/sh").c_str(), X_OK) == 0);

  for (const char* applet : {"sh", "echo", "cat", "ls", "id", "hostname", "sleep", "true", "false",
                             "ps", "mount", "top", "env", "kill", "mkdir", "grep", "wc", "head"}) {
    INFO(applet);
    CHECK(fs::is_symlink(root / "bin" / applet));
  }
  for (const char* dir :
       {"proc", "sys", "dev", "tmp", "etc", "root", "home", "var", "run", "usr/bin"}) {
    INFO(dir);
    CHECK(fs::is_directory(root / dir));
  }
  REQUIRE(stat((root / "tmp").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 01777);

  const std::string passwd = ReadFile(root / "etc/passwd");
  CHECK(passwd.rfind("root:x:0:0:", 0) == 0);
  CHECK(passwd.find("\nnobody:x:65534:65534:") != std::string::npos);
  CHECK(passwd.find("\ngantry:x:1000:1000:") != std::string::npos);
  const std::string group = ReadFile(root / "etc/group");
  CHECK(group.rfind("root:x:0:", 0) == 0);
  CHECK(group.find("\ngantry:x:1000:") != std::string::npos);
  CHECK(group.find("\nnogroup:x:65534:") != std::string::npos);

  if (geteuid() == 0) {
    REQUIRE(stat((root / "bin/busybox").c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK(st.st_gid == 0);
  }

  // The binary really is the busybox multi-call binary and runs on this host.
  CommandResult r = Run(Quote(root / "bin/busybox") + " echo fixture-ok");
  CHECK(r.status == 0);
  CHECK(r.output == "fixture-ok\n");
}

TEST_CASE("bundle/config.json is runc's default spec", "[fixtures]") {
  const fs::path bundle = kFixtures / "bundle";
  const json spec = json::parse(ReadFile(bundle / "config.json"));
  CHECK(spec.at("ociVersion").get<std::string>().rfind("1.", 0) == 0);
  CHECK(spec.at("process").at("terminal") == false);
  CHECK(spec.at("process").at("args") == json::array({"sh"}));
  CHECK(spec.at("process").at("cwd") == "/");
  CHECK(spec.at("process").at("user").at("uid") == 0);
  CHECK(spec.at("root").at("path") == "rootfs");
  CHECK(spec.at("hostname") == "runc");

  std::set<std::string> namespaces;
  for (const auto& ns : spec.at("linux").at("namespaces")) {
    namespaces.insert(ns.at("type").get<std::string>());
  }
  CHECK(namespaces == std::set<std::string>{"pid", "network", "ipc", "uts", "mount"});

  std::vector<std::string> mounts;
  for (const auto& m : spec.at("mounts")) mounts.push_back(m.at("destination").get<std::string>());
  CHECK(mounts == std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
                                           "/sys", "/sys/fs/cgroup"});
  CHECK(spec.at("linux").at("maskedPaths").size() == 10);
  CHECK(spec.at("linux").at("readonlyPaths").size() == 5);

  CHECK(fs::is_regular_file(bundle / "rootfs/bin/busybox"));
  CHECK(fs::is_symlink(bundle / "rootfs/bin/sh"));
  CHECK(ReadFile(bundle / "rootfs/etc/passwd") == ReadFile(kFixtures / "rootfs/etc/passwd"));
}

TEST_CASE("OCI image layout tarball is consistent", "[fixtures]") {
  const TarMap layout = ReadTar(ReadFile(kFixtures / "images/busybox-oci.tar"));
  const ImageInfo info = VerifyOciLayout(layout, /*gzip_layers=*/true);
  VerifyLayerContents(info.uncompressed_layers);

  // No stray blobs.
  size_t blobs = 0;
  for (const auto& [name, e] : layout) {
    if (name.rfind("blobs/sha256/", 0) == 0 && e.type == AE_IFREG) ++blobs;
  }
  CHECK(blobs == 2 + info.layer_digests.size());

  // fixtures.json agrees with the archive.
  const json fx = json::parse(ReadFile(kFixtures / "fixtures.json"));
  CHECK(fx.at("oci").at("manifest").at("digest") == info.manifest_digest);
  CHECK(fx.at("config").at("digest") == info.manifest.at("config").at("digest"));
  CHECK(fx.at("diff_ids") == info.config.at("rootfs").at("diff_ids"));
  REQUIRE(fx.at("oci").at("layers").size() == info.layer_digests.size());
  for (size_t i = 0; i < info.layer_digests.size(); ++i) {
    CHECK(fx.at("oci").at("layers").at(i).at("digest") == info.layer_digests[i]);
    CHECK(fx.at("oci").at("layers").at(i).at("size") ==
          info.manifest.at("layers").at(i).at("size"));
  }
  const std::string env = ReadFile(kFixtures / "images/busybox.env");
  CHECK(env.find("FIXTURE_OCI_MANIFEST_DIGEST=" + info.manifest_digest + "\n") !=
        std::string::npos);
}

TEST_CASE("docker-archive tarball is consistent", "[fixtures]") {
  const TarMap archive = ReadTar(ReadFile(kFixtures / "images/busybox-docker.tar"));

  // Legacy `docker load` view: manifest.json.
  const json manifest = json::parse(Blob(archive, "manifest.json"));
  REQUIRE(manifest.is_array());
  REQUIRE(manifest.size() == 1);
  const json& m = manifest.at(0);
  CHECK(m.at("RepoTags") == json::array({"busybox:latest"}));
  const std::string config_path = m.at("Config").get<std::string>();
  const std::string& config_bytes = Blob(archive, config_path);
  CHECK("blobs/sha256/" + Sha256Hex(config_bytes) == config_path);
  const json config = json::parse(config_bytes);
  const json& diff_ids = config.at("rootfs").at("diff_ids");
  const json& layers = m.at("Layers");
  REQUIRE(layers.size() == 2);
  REQUIRE(diff_ids.size() == layers.size());
  std::vector<std::string> tars;
  for (size_t i = 0; i < layers.size(); ++i) {
    INFO("layer " << i);
    const std::string& tar = Blob(archive, layers.at(i).get<std::string>());
    CHECK(Digest(tar) == diff_ids.at(i).get<std::string>());
    tars.push_back(tar);
  }
  VerifyLayerContents(tars);
  const json repositories = json::parse(Blob(archive, "repositories"));
  CHECK(repositories.at("busybox").at("latest") == diff_ids.at(1).get<std::string>().substr(7));

  // Docker 25+ view: the same archive is an OCI layout with uncompressed layers.
  const ImageInfo info = VerifyOciLayout(archive, /*gzip_layers=*/false);
  CHECK(info.config == config);

  // Same image config as the OCI archive.
  const json fx = json::parse(ReadFile(kFixtures / "fixtures.json"));
  CHECK(fx.at("config").at("digest") == "sha256:" + Sha256Hex(config_bytes));
  CHECK(fx.at("docker").at("manifest").at("digest") == info.manifest_digest);
}

TEST_CASE("skopeo reads both archives", "[fixtures][skopeo]") {
  if (!HaveProgram("skopeo")) {
    WARN("skopeo not installed: independent validation of the image archives skipped");
    return;
  }
  const fs::path oci = kFixtures / "images/busybox-oci.tar";
  const fs::path docker = kFixtures / "images/busybox-docker.tar";

  SECTION("oci-archive") {
    CommandResult r =
        Run("skopeo inspect --raw " + Quote("oci-archive:" + oci.string() + ":latest"));
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(json::parse(r.output).at("layers").size() == 2);
  }
  SECTION("docker-archive") {
    CommandResult r = Run("skopeo inspect " + Quote("docker-archive:" + docker.string()));
    INFO(r.output);
    REQUIRE(r.status == 0);
    const json j = json::parse(r.output);
    CHECK(j.at("Layers").size() == 2);
    CHECK(j.at("Architecture") == "amd64");
    CHECK(j.at("Os") == "linux");
  }
  SECTION("docker-archive read as oci-archive (Docker 25+ layout)") {
    CommandResult r =
        Run("skopeo inspect --raw " + Quote("oci-archive:" + docker.string() + ":latest"));
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(json::parse(r.output).at("layers").size() == 2);
  }
}
