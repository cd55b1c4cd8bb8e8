// --user names resolved in a container's own /etc/passwd and /etc/group.
#include "engined/containers/user_lookup.h"

#include <fcntl.h>

#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "common/unique_fd.h"
#include "tests/temp_dir.h"

TEST_CASE("user names come from the container's passwd and group files", "[user]") {
  gantry::testing::TempDir root("user-lookup");
  REQUIRE(gantry::MakeDirs(root.path() + "/etc").ok());
  REQUIRE(gantry::WriteFileAtomic(root.path() + "/etc/passwd",
                                  "root:x:0:0:root:/root:/bin/sh\n"
                                  "# a comment\n"
                                  "app:x:1000:1000::/home/app:/bin/sh\n"
                                  "nobody:x:65534:65534::/:/bin/false\n")
              .ok());
  REQUIRE(gantry::WriteFileAtomic(root.path() + "/etc/group",
                                  "root:x:0:\napp:x:1000:\naudio:x:29:app,other\nvideo:x:44:app\n"
                                  "nogroup:x:65534:\n")
              .ok());
  gantry::UniqueFd fd(::open(root.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  using gantry::engined::LookupUser;

  CHECK(*LookupUser(fd.get(), "app") ==
        nlohmann::json{{"uid", 1000}, {"gid", 1000}, {"additionalGids", {29, 44}}});
  CHECK(*LookupUser(fd.get(), "nobody:nogroup") == nlohmann::json{{"uid", 65534}, {"gid", 65534}});
  CHECK((*LookupUser(fd.get(), "app:audio"))["gid"] == 29);
  CHECK((*LookupUser(fd.get(), "1000"))["gid"] == 1000);
  // A number with no entry stands for itself.
  CHECK(*LookupUser(fd.get(), "4242") == nlohmann::json{{"uid", 4242}, {"gid", 4242}});
  CHECK(*LookupUser(fd.get(), "4242:7") == nlohmann::json{{"uid", 4242}, {"gid", 7}});

  auto missing = LookupUser(fd.get(), "ghost");
  REQUIRE(!missing.ok());
  CHECK(missing.status().message() ==
        "Config.User: unable to find user ghost: no matching entries in passwd file");
  CHECK(!LookupUser(fd.get(), "app:nosuch").ok());

  CHECK(gantry::engined::UserHasNames("app"));
  CHECK(gantry::engined::UserHasNames("1000:audio"));
  CHECK(!gantry::engined::UserHasNames("1000:29"));
}
