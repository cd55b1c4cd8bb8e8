#include "contd/registry/reference.h"

#include <catch2/catch.hpp>

using gantry::registry::Reference;

namespace {
const char kHex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

Reference MustParse(const std::string& text) {
  auto ref = Reference::Parse(text);
  INFO(text << ": " << ref.status().ToString());
  REQUIRE(ref.ok());
  return *ref;
}
}  // namespace

TEST_CASE("a bare name is docker.io/library/NAME, as docker pull reads it", "[reference]") {
  Reference r = MustParse("busybox");
  CHECK(r.domain() == "docker.io");
  CHECK(r.path() == "library/busybox");
  CHECK(r.tag().empty());
  CHECK(r.Object() == "latest");
  CHECK(r.String() == "docker.io/library/busybox");
  CHECK(MustParse("user/app:1.0").String() == "docker.io/user/app:1.0");
  CHECK(MustParse("index.docker.io/busybox").String() == "docker.io/library/busybox");
}

TEST_CASE("domains with ports, tags and digests are kept apart", "[reference]") {
  Reference r = MustParse(std::string("127.0.0.1:5000/a/b-c:v1.2@sha256:") + kHex);
  CHECK(r.domain() == "127.0.0.1:5000");
  CHECK(r.path() == "a/b-c");
  CHECK(r.tag() == "v1.2");
  REQUIRE(r.digest().has_value());
  CHECK(r.Object() == std::string("sha256:") + kHex);

  Reference port_only = MustParse("localhost:5000/app");
  CHECK(port_only.domain() == "localhost:5000");
  CHECK(port_only.tag().empty());
  CHECK(MustParse("localhost/app").domain() == "localhost");
  CHECK(MustParse("registry.example.com/x").domain() == "registry.example.com");
  CHECK(MustParse("myhost:5000/x").WithTag("t").String() == "myhost:5000/x:t");
}

TEST_CASE("invalid references fail naming the reference and the rule", "[reference]") {
  auto upper = Reference::Parse("Busybox");
  REQUIRE_FALSE(upper.ok());
  CHECK(upper.status().message() ==
        "invalid reference \"Busybox\": repository name must be lowercase");
  auto tag = Reference::Parse("busybox:-bad");
  CHECK(tag.status().message() == "invalid reference \"busybox:-bad\": invalid tag \"-bad\"");
  CHECK_FALSE(Reference::Parse("").ok());
  CHECK_FALSE(Reference::Parse("a//b").ok());
  CHECK_FALSE(Reference::Parse("a/b_-c").ok());
  CHECK_FALSE(Reference::Parse("busybox@sha256:abc").ok());
  CHECK_FALSE(Reference::Parse("host:port/x").ok());
  CHECK_FALSE(Reference::Parse(std::string(300, 'a')).ok());
  CHECK(Reference::Parse("a__b/c.d/e--f").ok());
}

TEST_CASE("the familiar form drops docker.io/ and library/ as docker images shows it",
          "[reference]") {
  CHECK(MustParse("busybox:latest").FamiliarString() == "busybox:latest");
  CHECK(MustParse("docker.io/library/busybox").FamiliarString() == "busybox");
  CHECK(MustParse("user/app:1.0").FamiliarString() == "user/app:1.0");
  CHECK(MustParse("library/a/b:t").FamiliarString() == "library/a/b:t");
  CHECK(MustParse("myhost:5000/library/x:t").FamiliarString() == "myhost:5000/library/x:t");
}
