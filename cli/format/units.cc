#include "cli/format/units.h"

#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gantry::cli {

std::string HumanSize(double bytes, int precision) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  size_t unit = 0;
  while (bytes >= 1000.0 && unit + 1 < std::size(kUnits)) {
    bytes /= 1000.0;
    ++unit;
  }
  return absl::StrFormat("%.*g%s", precision, bytes, kUnits[unit]);
}

std::string BytesSize(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t unit = 0;
  while (bytes >= 1024.0 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024.0;
    ++unit;
  }
  return absl::StrFormat("%.4g%s", bytes, kUnits[unit]);
}

std::string TimeAgo(int64_t unix_seconds) {
  return absl::StrCat(HumanDuration(absl::ToUnixSeconds(absl::Now()) - unix_seconds), " ago");
}

std::string GoTimeString(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %z %Z", absl::FromUnixSeconds(unix_seconds),
                          absl::LocalTimeZone());
}

std::string GoTimeString(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E*S %z %Z", time, absl::LocalTimeZone());
}

}  // namespace gantry::cli
