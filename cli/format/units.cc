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

std::string HumanDuration(int64_t seconds) {
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return absl::StrCat(seconds, " seconds");
  const int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return absl::StrCat(minutes, " minutes");
  const int64_t hours = (seconds + 1800) / 3600;
  if (hours == 1) return "About an hour";
  if (hours < 48) return absl::StrCat(hours, " hours");
  if (hours < 24 * 7 * 2) return absl::StrCat(hours / 24, " days");
  if (hours < 24 * 30 * 2) return absl::StrCat(hours / 24 / 7, " weeks");
  if (hours < 24 * 365 * 2) return absl::StrCat(hours / 24 / 30, " months");
  return absl::StrCat(seconds / 3600 / 24 / 365, " years");
}

std::string TimeAgo(int64_t unix_seconds) {
  return absl::StrCat(HumanDuration(absl::ToUnixSeconds(absl::Now()) - unix_seconds), " ago");
}

std::string GoTimeString(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %z %Z", absl::FromUnixSeconds(unix_seconds),
                          absl::LocalTimeZone());
}

}  // namespace gantry::cli
