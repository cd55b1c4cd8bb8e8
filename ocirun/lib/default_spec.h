// The config.json `ocirun spec` writes: runc's default, optionally rootless.
#pragma once

#include <nlohmann/json.hpp>

namespace ocirun {

nlohmann::ordered_json DefaultSpec(bool rootless);

}  // namespace ocirun
