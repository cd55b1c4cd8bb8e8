// OCI mount options split into mount(2) flags, propagation and fs data.
#include <sys/mount.h>

#include <catch2/catch.hpp>

#include "ocirun/lib/rootfs.h"

using ocirun::ParseMountOptions;

TEST_CASE("mount options become flags, and the rest is filesystem data", "[rootfs]") {
  auto devpts =
      ParseMountOptions({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
  CHECK(devpts.flags == (MS_NOSUID | MS_NOEXEC));
  CHECK(devpts.data == "newinstance,ptmxmode=0666,mode=0620,gid=5");
  CHECK_FALSE(devpts.bind);
  CHECK(devpts.propagation == 0);

  auto sys = ParseMountOptions({"nosuid", "noexec", "nodev", "ro"});
  CHECK(sys.flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  CHECK(sys.data.empty());

  auto none = ParseMountOptions({});
  CHECK(none.flags == 0);
  CHECK(none.clear == 0);
  CHECK(none.data.empty());
}

TEST_CASE("bind and rbind", "[rootfs]") {
  auto bind = ParseMountOptions({"bind", "ro"});
  CHECK(bind.bind);
  CHECK(bind.flags == (MS_BIND | MS_RDONLY));
  auto rbind = ParseMountOptions({"rbind"});
  CHECK(rbind.bind);
  CHECK(rbind.flags == (MS_BIND | MS_REC));
}

TEST_CASE("a negated option clears its flag and is remembered as cleared", "[rootfs]") {
  auto m = ParseMountOptions({"ro", "nosuid", "rw", "suid", "noatime", "atime"});
  CHECK(m.flags == 0);
  CHECK(m.clear == (MS_RDONLY | MS_NOSUID | MS_NOATIME));
  // The last word wins.
  CHECK(ParseMountOptions({"rw", "ro"}).flags == MS_RDONLY);
}

TEST_CASE("propagation options are kept apart from the mount flags", "[rootfs]") {
  CHECK(ParseMountOptions({"rprivate"}).propagation == (MS_PRIVATE | MS_REC));
  CHECK(ParseMountOptions({"shared"}).propagation == MS_SHARED);
  CHECK(ParseMountOptions({"rslave"}).propagation == (MS_SLAVE | MS_REC));
  CHECK(ParseMountOptions({"unbindable"}).propagation == MS_UNBINDABLE);
  auto m = ParseMountOptions({"rbind", "rprivate", "ro"});
  CHECK(m.flags == (MS_BIND | MS_REC | MS_RDONLY));
  CHECK(m.propagation == (MS_PRIVATE | MS_REC));
}
