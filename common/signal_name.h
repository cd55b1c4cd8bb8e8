// Signals by the names users give them (docker kill -s, runc kill, StopSignal).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace gantry {

// "KILL", "SIGKILL", "9", "RTMIN+3" -> the number. INVALID_ARGUMENT naming
// the text otherwise.
absl::StatusOr<int> ParseSignal(const std::string& text);

}  // namespace gantry
