// Docker Engine API versions ("1.41"): parsing, ordering, and the range this
// engined speaks. Clients put the version in the path (/v1.41/...).
#pragma once

#include <compare>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::engined {

struct ApiVersion {
  int major = 1;
  int minor = 0;

  auto operator<=>(const ApiVersion&) const = default;
  std::string ToString() const;
};

// The oldest version dockerd still accepts, and the newest whose request and
// response shapes the routers follow.
inline constexpr ApiVersion kMinApiVersion{1, 24};
inline constexpr ApiVersion kMaxApiVersion{1, 43};

// Parses "MAJOR.MINOR"; anything else is InvalidArgument.
absl::StatusOr<ApiVersion> ParseApiVersion(absl::string_view text);

// Checks a client's version against the supported range, with dockerd's
// messages (the docker CLI shows them as they are).
absl::Status CheckApiVersion(const ApiVersion& version);

}  // namespace gantry::engined
