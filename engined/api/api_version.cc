#include "engined/api/api_version.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gantry::engined {

std::string ApiVersion::ToString() const { return absl::StrCat(major, ".", minor); }

absl::StatusOr<ApiVersion> ParseApiVersion(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  ApiVersion version;
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty() ||
      !absl::SimpleAtoi(parts[0], &version.major) || !absl::SimpleAtoi(parts[1], &version.minor) ||
      version.major < 0 || version.minor < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid API version \"", text, "\": expected MAJOR.MINOR, e.g. 1.41"));
  }
  return version;
}

absl::Status CheckApiVersion(const ApiVersion& version) {
  if (version > kMaxApiVersion) {
    return absl::InvalidArgumentError(absl::StrCat("client version ", version.ToString(),
                                                   " is too new. Maximum supported API version is ",
                                                   kMaxApiVersion.ToString()));
  }
  if (version < kMinApiVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client version ", version.ToString(), " is too old. Minimum supported API version is ",
        kMinApiVersion.ToString(), ", please upgrade your client to a newer version"));
  }
  return absl::OkStatus();
}

}  // namespace gantry::engined
