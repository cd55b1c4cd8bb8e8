// A directory under /tmp that a test owns and removes when it ends.
#pragma once

#include <stdlib.h>

#include <string>

#include <catch2/catch.hpp>

#include "common/file_util.h"

namespace gantry::testing {

class TempDir {
 public:
  // prefix names the test in the directory name ("/tmp/<prefix>.XXXXXX").
  explicit TempDir(const std::string& prefix) {
    std::string pattern = "/tmp/" + prefix + ".XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { (void)RemoveTree(path_); }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace gantry::testing
