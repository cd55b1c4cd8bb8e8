// Container ids, which name directories under --root.
#include <string>

#include <catch2/catch.hpp>

#include "ocirun/lib/state.h"

TEST_CASE("container ids: letters, digits and _+.- only", "[state]") {
  for (const char* id :
       {"a", "abc", "A1", "my_container+1.2-3", "0123456789abcdef", "_a", ".a", "+x", "-"}) {
    INFO(id);
    CHECK(ocirun::ValidateId(id).ok());
  }
  CHECK(ocirun::ValidateId(std::string(1024, 'a')).ok());

  CHECK(ocirun::ValidateId("").message() == "container id cannot be empty");
  CHECK(ocirun::ValidateId("a b").message() ==
        "invalid container id \"a b\": only [A-Za-z0-9_+.-] are allowed");
  for (const char* id : {"a/b", "../x", "x\n", "caf\xc3\xa9", "a:b"}) {
    INFO(id);
    CHECK(ocirun::ValidateId(id).code() == absl::StatusCode::kInvalidArgument);
  }
  // Never a path that leaves --root or names it.
  CHECK(ocirun::ValidateId(".").message() == "invalid container id \".\": reserved name");
  CHECK(ocirun::ValidateId("..").message() == "invalid container id \"..\": reserved name");
  CHECK(ocirun::ValidateId(std::string(1025, 'a')).message() ==
        "invalid container id \"" + std::string(1025, 'a') + "\": longer than 1024 bytes");
}
