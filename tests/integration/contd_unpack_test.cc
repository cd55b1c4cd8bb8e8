// Layers unpacked with libarchive into snapshots (root, real overlayfs):
// every file type and its metadata survive; gzip, zstd and plain tars give
// the same diff ID (the sha256 of the tar); whiteouts and opaque
// directories read as deletions in the mounted image; hostile entries fail
// the layer without creating anything outside it.
#include <catch2/catch.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "common/digest.h"
#include "common/file_util.h"
#include "contd/unpack/layer.h"
#include "contd/unpack/layer_snapshot.h"
#include "tests/layer_tar.h"
#include "tests/snapshot_test_util.h"

namespace {

using gantry::Digest;
using gantry::ReadFile;
using gantry::contd::unpack::ApplyLayer;
using gantry::contd::unpack::ChainId;
using gantry::contd::unpack::UnpackLayerSnapshot;
using gantry::contd::unpack::Whiteouts;
using gantry::testing::Compression;
using gantry::testing::LayerTar;
using gantry::testing::ScopedMount;
using gantry::testing::SnapshotterFixture;
using gantry::testing::TempDir;

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

void EveryKind(LayerTar& tar) {
  tar.Dir("etc", 0750, 1234567)
      .File("etc/config", "setting=1\n", 0640, 1000, 1001)
      .File("bin/tool", "#!/bin/sh\n", 04755)
      .Hardlink("bin/tool-link", "bin/tool")
      .Symlink("bin/sh", "/bin/busybox")
      .Fifo("run/fifo")
      .CharDevice("dev/null", makedev(1, 3))
      .FileWithXattr("etc/capable", "x", "trusted.gantry", "yes");
}

}  // namespace

TEST_CASE(
    "ApplyLayer: files, dirs, links, devices, owners, modes, xattrs and mtimes; diff ID "
    "is the sha256 of the tar whatever the compression",
    "[unpack]") {
  const Compression compression =
      GENERATE(Compression::kNone, Compression::kGzip, Compression::kZstd);
  TempDir dir("snap-test");
  LayerTar plain;
  EveryKind(plain);
  const Digest expected = Digest::FromBytes(plain.Bytes());
  LayerTar layer(compression);
  EveryKind(layer);
  gantry::UniqueFd fd = layer.Fd();

  auto diff_id = ApplyLayer(fd.get(), dir.path());
  INFO(diff_id.status().message());
  REQUIRE(diff_id.ok());
  CHECK(diff_id->str() == expected.str());

  const std::string root = dir.path();
  struct stat st;
  REQUIRE(::lstat((root + "/etc").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
  CHECK(st.st_mtime == 1234567);  // set after etc/config was written in it
  REQUIRE(::lstat((root + "/etc/config").c_str(), &st) == 0);
  CHECK(st.st_uid == 1000);
  CHECK(st.st_gid == 1001);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_mtime == 1000000);
  CHECK(*ReadFile(root + "/etc/config") == "setting=1\n");
  REQUIRE(::lstat((root + "/bin/tool").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 04755);
  CHECK(st.st_nlink == 2);
  struct stat link;
  REQUIRE(::lstat((root + "/bin/tool-link").c_str(), &link) == 0);
  CHECK(link.st_ino == st.st_ino);
  char target[64] = {};
  REQUIRE(::readlink((root + "/bin/sh").c_str(), target, sizeof target - 1) > 0);
  CHECK(std::string(target) == "/bin/busybox");
  REQUIRE(::lstat((root + "/run/fifo").c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  REQUIRE(::lstat((root + "/dev/null").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == makedev(1, 3));
  char value[8] = {};
  CHECK(::getxattr((root + "/etc/capable").c_str(), "trusted.gantry", value, sizeof value) == 3);
  CHECK(std::string(value) == "yes");
}

TEST_CASE(
    "unpacked layers: whiteouts and opaque directories read as deletions in the mounted "
    "image, with both snapshotters",
    "[unpack][overlay]") {
  SnapshotterFixture f;
  const std::string name = GENERATE(as<std::string>{}, "overlayfs", "native");
  INFO("snapshotter " << name);
  auto& s = f.Get(name);

  LayerTar base(Compression::kGzip);
  base.Dir("etc")
      .File("etc/a", "a")
      .File("etc/b", "b")
      .Dir("opq")
      .File("opq/x", "x")
      .File("opq/y", "y");
  const std::string base_bytes = base.Bytes();
  LayerTar top(Compression::kZstd);
  top.Dir("etc").File("etc/.wh.a", "").Dir("opq").File("opq/.wh..wh..opq", "").File("opq/z", "z");
  const std::string top_bytes = top.Bytes();

  auto apply = [&](const std::string& bytes, const std::optional<Digest>& parent,
                   const Digest& diff_id) {
    TempDir scratch("snap-test");
    REQUIRE(gantry::WriteFileAtomic(scratch.path() + "/layer", bytes).ok());
    gantry::UniqueFd fd(::open((scratch.path() + "/layer").c_str(), O_RDONLY | O_CLOEXEC));
    return UnpackLayerSnapshot(s, "ns", parent, fd.get(), diff_id);
  };
  // Diff IDs of the uncompressed streams, as an image config lists them.
  auto diff_id_of = [&](const std::string& bytes) {
    TempDir scratch("snap-test");
    REQUIRE(gantry::WriteFileAtomic(scratch.path() + "/layer", bytes).ok());
    gantry::UniqueFd fd(::open((scratch.path() + "/layer").c_str(), O_RDONLY | O_CLOEXEC));
    auto d = ApplyLayer(fd.get(), scratch.path() + "/", {Whiteouts::kDelete});
    REQUIRE(d.ok());
    return *d;
  };
  const Digest base_diff = diff_id_of(base_bytes);
  const Digest top_diff = diff_id_of(top_bytes);

  auto base_chain = apply(base_bytes, std::nullopt, base_diff);
  INFO(base_chain.status().message());
  REQUIRE(base_chain.ok());
  CHECK(*base_chain == base_diff);
  auto top_chain = apply(top_bytes, *base_chain, top_diff);
  INFO(top_chain.status().message());
  REQUIRE(top_chain.ok());
  CHECK(*top_chain == ChainId(base_diff, top_diff));
  CHECK(s.Stat("ns", top_chain->str())->parent == base_chain->str());
  // Unpacking a layer again finds its snapshot.
  CHECK(*apply(top_bytes, *base_chain, top_diff) == *top_chain);

  auto rootfs = s.Prepare("ns", "rootfs", top_chain->str(), {});
  REQUIRE(rootfs.ok());
  ScopedMount m(*rootfs, f.dir.path() + "/mnt");
  CHECK(!Exists(m.path() + "/etc/a"));
  CHECK(*ReadFile(m.path() + "/etc/b") == "b");
  CHECK(!Exists(m.path() + "/opq/x"));
  CHECK(!Exists(m.path() + "/opq/y"));
  CHECK(*ReadFile(m.path() + "/opq/z") == "z");
  // Only the 2 committed layers and the rootfs: the extraction keys are gone.
  CHECK(s.List("ns", {})->size() == 3);
}

TEST_CASE("unpacked layers: a diff ID that does not match leaves no snapshot", "[unpack]") {
  SnapshotterFixture f;
  LayerTar layer;
  layer.File("a", "a");
  gantry::UniqueFd fd = layer.Fd();
  const Digest wrong = Digest::FromBytes("something else");
  auto unpacked = UnpackLayerSnapshot(*f.overlay, "ns", std::nullopt, fd.get(), wrong);
  CHECK(absl::IsDataLoss(unpacked.status()));
  CHECK(absl::StrContains(unpacked.status().message(), wrong.str()));
  CHECK(f.overlay->List("ns", {})->empty());
}

TEST_CASE(
    "ApplyLayer: entries reaching outside the layer are refused and create nothing "
    "outside",
    "[unpack][security]") {
  TempDir outside("snap-test-outside");
  TempDir work("snap-test");
  const std::string target = work.path() + "/target";
  REQUIRE(gantry::MakeDirs(target).ok());

  struct Case {
    const char* what;
    std::function<void(LayerTar&)> fill;
    const char* entry;
  };
  const std::string outside_dir = outside.path();
  const Case cases[] = {
      {"dot-dot", [](LayerTar& t) { t.File("../escape", "x"); }, "../escape"},
      {"nested dot-dot", [](LayerTar& t) { t.Dir("a").File("a/../../escape", "x"); },
       "a/../../escape"},
      {"absolute", [](LayerTar& t) { t.File("/tmp/gantry-snap-test-abs", "x"); },
       "/tmp/gantry-snap-test-abs"},
      {"symlink out then write through it",
       [&](LayerTar& t) { t.Symlink("evil", outside_dir).File("evil/planted", "x"); },
       "evil/planted"},
      {"relative symlink out then write through it",
       [](LayerTar& t) { t.Symlink("up", "../../../../../../tmp").File("up/gantry-snap-x", "x"); },
       "up/gantry-snap-x"},
      {"hardlink to /etc/passwd", [](LayerTar& t) { t.Hardlink("pw", "/etc/passwd"); }, "pw"},
      {"hardlink through dot-dot", [](LayerTar& t) { t.Hardlink("pw", "../../../etc/passwd"); },
       "pw"},
      {"hardlink through a symlink to /etc",
       [](LayerTar& t) { t.Symlink("etc-link", "/etc").Hardlink("pw2", "etc-link/passwd"); },
       "pw2"},
      {"directory through a symlink out",
       [&](LayerTar& t) { t.Symlink("evil-dir", outside_dir).Dir("evil-dir/sub"); },
       "evil-dir/sub"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    LayerTar layer;
    c.fill(layer);
    gantry::UniqueFd fd = layer.Fd();
    auto applied = ApplyLayer(fd.get(), target);
    REQUIRE(!applied.ok());
    INFO(applied.status().message());
    CHECK(absl::StrContains(applied.status().message(), c.entry));
  }
  CHECK(!Exists(work.path() + "/escape"));
  CHECK(!Exists("/tmp/gantry-snap-test-abs"));
  CHECK(!Exists("/tmp/gantry-snap-x"));
  CHECK(!Exists(outside_dir + "/planted"));
  CHECK(!Exists(outside_dir + "/sub"));
  struct stat passwd;
  REQUIRE(::stat("/etc/passwd", &passwd) == 0);
  CHECK(passwd.st_nlink == 1);
}

namespace {

// The blob `digest` of an image tarball (OCI layout or docker save), in a memfd.
gantry::UniqueFd BlobFromImageTar(const std::string& tarball, const std::string& digest) {
  const std::string wanted = "blobs/sha256/" + digest.substr(7);
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_filename(a, tarball.c_str(), 65536) == ARCHIVE_OK);
  gantry::UniqueFd fd(::memfd_create("blob", MFD_CLOEXEC));
  archive_entry* entry;
  bool found = false;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    if (std::string(archive_entry_pathname(entry)) != wanted) continue;
    REQUIRE(archive_read_data_into_fd(a, fd.get()) == ARCHIVE_OK);
    found = true;
    break;
  }
  archive_read_free(a);
  REQUIRE(found);
  REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
  return fd;
}

}  // namespace

TEST_CASE(
    "unpacked fixture image: its diff IDs match the config, and the layer-2 whiteout and "
    "opaque directory hide layer 1's files in the mounted rootfs",
    "[unpack][fixtures]") {
  const auto fixtures =
      nlohmann::json::parse(*ReadFile(std::string(GANTRY_FIXTURES_DIR) + "/fixtures.json"));
  const std::string format = GENERATE(as<std::string>{}, "oci", "docker");
  const std::string name = GENERATE(as<std::string>{}, "overlayfs", "native");
  INFO(format << " image, " << name << " snapshotter");
  SnapshotterFixture f;
  auto& s = f.Get(name);
  const std::string tarball =
      std::string(GANTRY_FIXTURES_DIR) + "/" + fixtures[format]["path"].get<std::string>();

  std::optional<Digest> chain;
  for (size_t i = 0; i < 2; ++i) {
    gantry::UniqueFd layer =
        BlobFromImageTar(tarball, fixtures[format]["layers"][i]["digest"].get<std::string>());
    auto diff_id = Digest::Parse(fixtures["diff_ids"][i].get<std::string>());
    REQUIRE(diff_id.ok());
    auto unpacked = UnpackLayerSnapshot(s, "ns", chain, layer.get(), *diff_id);
    INFO(unpacked.status().message());
    REQUIRE(unpacked.ok());
    chain = *unpacked;
  }
  auto rootfs = s.Prepare("ns", "rootfs", chain->str(), {});
  REQUIRE(rootfs.ok());
  ScopedMount m(*rootfs, f.dir.path() + "/mnt");
  CHECK(*ReadFile(m.path() + "/etc/motd") == "hello from layer 2\n");
  CHECK(!Exists(m.path() + "/etc/removed-by-layer2"));
  CHECK(!Exists(m.path() + "/opt/opaque/old.txt"));
  CHECK(Exists(m.path() + "/opt/opaque/new.txt"));
  struct stat st;
  REQUIRE(::stat((m.path() + "/bin/busybox").c_str(), &st) == 0);
  CHECK((st.st_mode & 0111) != 0);
}

// Hidden (run with "[.bench]"): unpack throughput of a 200 MB gzip layer.
TEST_CASE("ApplyLayer throughput", "[.bench]") {
  TempDir dir("snap-test");
  LayerTar layer(Compression::kGzip);
  std::string block(200 * 1024, '\0');
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 1000; ++i) {
    // Half the files compress well, half are random.
    for (size_t j = 0; j < block.size(); ++j) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      block[j] = i % 2 ? static_cast<char>(x) : static_cast<char>('a' + j % 7);
    }
    layer.File("d" + std::to_string(i % 10) + "/f" + std::to_string(i), block);
  }
  gantry::UniqueFd fd = layer.Fd();
  const auto start = std::chrono::steady_clock::now();
  auto applied = ApplyLayer(fd.get(), dir.path());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(applied.ok());
  WARN("unpacked 200 MB in " << seconds << " s: " << 200 / seconds << " MB/s");
}
