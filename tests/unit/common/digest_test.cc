#include "common/digest.h"

#include <catch2/catch.hpp>

using gantry::Digest;

TEST_CASE("sha256 of known inputs matches the published test vectors", "[digest]") {
  CHECK(gantry::Sha256Hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(gantry::Sha256Hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("incremental hashing equals one-shot hashing", "[digest]") {
  gantry::Sha256 h;
  h.Update("a");
  h.Update("bc");
  CHECK(h.FinishHex() == gantry::Sha256Hex("abc"));
}

TEST_CASE("digests parse only in sha256:<64 lowercase hex> form", "[digest]") {
  auto ok =
      Digest::Parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  REQUIRE(ok.ok());
  CHECK(ok->str() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(*ok == Digest::FromBytes("abc"));

  CHECK(Digest::Parse("ba7816bf").status().message().find("missing algorithm") !=
        std::string::npos);
  CHECK(Digest::Parse("md5:abc").status().message().find("unsupported algorithm md5") !=
        std::string::npos);
  CHECK_FALSE(Digest::Parse("sha256:abc").ok());
  CHECK_FALSE(
      Digest::Parse("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")
          .ok());
}
