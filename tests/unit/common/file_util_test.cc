#include "common/file_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

namespace {
std::string MakeTempDir() {
  char tmpl[] = "/tmp/gantry-fileutil-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}
}  // namespace

TEST_CASE("atomic writes replace content and leave no temp file", "[file_util]") {
  std::string dir = MakeTempDir();
  std::string path = dir + "/state.json";
  REQUIRE(gantry::WriteFileAtomic(path, "old").ok());
  REQUIRE(gantry::WriteFileAtomic(path, "new", 0600).ok());
  CHECK(*gantry::ReadFile(path) == "new");
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(gantry::RemoveTree(dir).ok());
  CHECK(::access(dir.c_str(), F_OK) != 0);
}

TEST_CASE("reading a missing file names it", "[file_util]") {
  auto r = gantry::ReadFile("/nonexistent/gantry");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(r.status().message()).find("/nonexistent/gantry") != std::string::npos);
}

TEST_CASE("MakeDirs creates nested directories and is idempotent", "[file_util]") {
  std::string dir = MakeTempDir();
  REQUIRE(gantry::MakeDirs(dir + "/a/b/c").ok());
  REQUIRE(gantry::MakeDirs(dir + "/a/b/c").ok());
  REQUIRE(gantry::WriteFileAtomic(dir + "/a/file", "x").ok());
  auto st = gantry::MakeDirs(dir + "/a/file/d");
  CHECK_FALSE(st.ok());
  REQUIRE(gantry::RemoveTree(dir).ok());
  CHECK(gantry::RemoveTree(dir).ok());  // already gone is fine
}
