// Docker's `--user name[:group]`: names resolved in the container's own
// /etc/passwd and /etc/group (never the host's), as moby's getUser does,
// with the user's supplementary groups.
#pragma once

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace gantry::engined {

// The OCI process.user for `user` ("name", "uid", "name:group", "uid:gid",
// any mix) in the root filesystem open at `root` (a directory fd): uid, gid
// and additionalGids. Numbers that name no entry are taken as they are;
// names that do not exist are INVALID_ARGUMENT naming them.
absl::StatusOr<nlohmann::json> LookupUser(int root, const std::string& user);

// Whether `user` needs the container's files (it holds a name).
bool UserHasNames(const std::string& user);

}  // namespace gantry::engined
