// A temporary directory for a test, removed with everything in it when the
// test ends (passing or not).
#pragma once

#include <stdlib.h>

#include <string>

#include <catch2/catch.hpp>

#include "common/file_util.h"

namespace gantry::testing {

class TempDir {
 public:
  // `name` goes into the directory's name: /tmp/gantry-<name>-XXXXXX.
  explicit TempDir(const std::string& name) {
    std::string tmpl = "/tmp/gantry-" + name + "-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { (void)gantry::RemoveTree(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace gantry::testing
