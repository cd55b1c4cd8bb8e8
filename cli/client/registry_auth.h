// The X-Registry-Auth header docker sends with push: the credentials
// `docker login` stored for the image's registry in ~/.docker/config.json
// ($DOCKER_CONFIG/config.json), as base64url JSON; "{}" when there are none.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace gantry::cli {

// "127.0.0.1:5000/a/b:tag" -> "127.0.0.1:5000"; "busybox" -> "docker.io".
std::string RegistryOf(const std::string& reference);

// The header's value for `reference` given a config.json's content.
std::string RegistryAuthFromConfig(const std::string& reference, const nlohmann::json& config);
// The same, reading the user's config.json.
std::string RegistryAuth(const std::string& reference);

}  // namespace gantry::cli
