// The OCI runtime spec engined generates for a container, as dockerd's
// (moby's oci/defaults.go and daemon/oci_linux.go): Docker's default
// capabilities, seccomp profile, masked and read-only paths, device rules,
// 64 MiB /dev/shm, hostname = short ID, and /etc/hosts, /etc/hostname and
// /etc/resolv.conf bind-mounted from the container's directory.
#pragma once

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "engined/containers/container.h"

namespace gantry::engined {

// The spec for `container` (Config and HostConfig already validated and
// merged with the image's). Errors name the HostConfig field. `root`, a
// directory fd of the container's filesystem, resolves user names
// (Config.User "nobody"); without it (-1) they are only checked for form.
absl::StatusOr<nlohmann::json> BuildOciSpec(const Container& container, int root = -1);

// The OCI process of `docker exec` in `container`: the container's process
// (user, capabilities, env) with the ExecConfig's Cmd, Env, WorkingDir,
// User, Tty and Privileged applied. Errors name the field.
absl::StatusOr<nlohmann::json> BuildExecProcess(const Container& container,
                                                const nlohmann::json& exec_config, int root = -1);

// The cgroup engined puts a container in (cgroupfs driver: "/gantry/<id>").
std::string CgroupPath(const std::string& id);
// Removes the "/gantry" parent in every hierarchy where it is empty (the
// runtime removes a container's own cgroup, not the parent it made).
void RemoveEmptyCgroupParents();

}  // namespace gantry::engined
