#include "common/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace {
bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
}  // namespace

TEST_CASE("a UniqueFd closes its descriptor exactly once", "[unique_fd]") {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(raw >= 0);
  {
    gantry::UniqueFd fd(raw);
    CHECK(fd.valid());
    gantry::UniqueFd moved = std::move(fd);
    CHECK_FALSE(fd.valid());
    CHECK(moved.get() == raw);
    CHECK(IsOpen(raw));
  }
  CHECK_FALSE(IsOpen(raw));
}

TEST_CASE("Release hands ownership back to the caller", "[unique_fd]") {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  {
    gantry::UniqueFd fd(raw);
    CHECK(fd.Release() == raw);
  }
  CHECK(IsOpen(raw));
  ::close(raw);
}
