#include "common/errors.h"

#include <cerrno>

#include <catch2/catch.hpp>

namespace {
absl::StatusOr<int> Half(int n) {
  if (n % 2) return absl::InvalidArgumentError("odd");
  return n / 2;
}
absl::StatusOr<int> Quarter(int n) {
  GANTRY_ASSIGN_OR_RETURN(int half, Half(n));
  GANTRY_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}
absl::Status Check(bool fail) {
  GANTRY_RETURN_IF_ERROR(fail ? absl::NotFoundError("gone") : absl::OkStatus());
  return absl::InternalError("reached the end");
}
}  // namespace

TEST_CASE("errno errors say what failed and why, with a matching code", "[errors]") {
  auto st = gantry::ErrnoError(ENOENT, "open /nonexistent");
  CHECK(st.code() == absl::StatusCode::kNotFound);
  CHECK(st.message() == "open /nonexistent: No such file or directory");
  CHECK(gantry::ErrnoError(EEXIST, "mkdir").code() == absl::StatusCode::kAlreadyExists);
  CHECK(gantry::ErrnoError(EPERM, "mount").code() == absl::StatusCode::kPermissionDenied);
}

TEST_CASE("annotation prefixes context and keeps the code", "[errors]") {
  auto st = gantry::Annotate(absl::NotFoundError("no such container"), "delete abc");
  CHECK(st.code() == absl::StatusCode::kNotFound);
  CHECK(st.message() == "delete abc: no such container");
  CHECK(gantry::Annotate(absl::OkStatus(), "x").ok());
}

TEST_CASE("propagation macros return the first error", "[errors]") {
  CHECK(*Quarter(8) == 2);
  CHECK(Quarter(6).status().message() == "odd");
  CHECK(Check(true).code() == absl::StatusCode::kNotFound);
  CHECK(Check(false).code() == absl::StatusCode::kInternal);
}
