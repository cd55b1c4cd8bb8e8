// OCI lifecycle hooks: each runs with the container state on stdin and is
// killed when its timeout passes.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ocirun/lib/spec.h"

namespace ocirun {

// Runs `hooks` in order; `kind` names them in errors ("prestart").
absl::Status RunHooks(const std::vector<Hook>& hooks, const std::string& kind,
                      const std::string& state_json);

}  // namespace ocirun
