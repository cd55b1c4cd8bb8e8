#include "cli/format/timestamps.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gantry::cli {
namespace {

bool IsUnixSeconds(absl::string_view value) {
  const size_t dot = value.find('.');
  absl::string_view seconds = value.substr(0, dot);
  absl::string_view fraction = dot == absl::string_view::npos ? "" : value.substr(dot + 1);
  auto digits = [](absl::string_view s) {
    for (char c : s) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  return !seconds.empty() && digits(seconds) && digits(fraction) &&
         (dot == absl::string_view::npos || !fraction.empty());
}

}  // namespace

absl::StatusOr<std::string> ApiTimestamp(absl::string_view value, absl::Time now) {
  absl::Duration duration;
  if (value != "0" && absl::ParseDuration(value, &duration)) {
    return absl::StrCat(absl::ToUnixSeconds(now - duration));
  }
  if (IsUnixSeconds(value)) return std::string(value);
  std::string text(value);
  // A trailing Z as the zero offset, which %Ez reads.
  if (absl::EndsWithIgnoreCase(text, "z"))
    text = absl::StrCat(text.substr(0, text.size() - 1), "+00:00");
  static constexpr const char* kZoned[] = {"%Y-%m-%dT%H:%M:%E*S%Ez", "%Y-%m-%dT%H:%M%Ez",
                                           "%Y-%m-%dT%H%Ez", "%Y-%m-%d%Ez"};
  static constexpr const char* kLocal[] = {"%Y-%m-%dT%H:%M:%E*S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H",
                                           "%Y-%m-%d"};
  absl::Time time;
  std::string error;
  for (const char* format : kZoned) {
    if (absl::ParseTime(format, text, &time, &error)) {
      return absl::StrFormat(
          "%d.%09d", absl::ToUnixSeconds(time),
          absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(absl::ToUnixSeconds(time))));
    }
  }
  for (const char* format : kLocal) {
    if (absl::ParseTime(format, text, absl::LocalTimeZone(), &time, &error)) {
      return absl::StrFormat(
          "%d.%09d", absl::ToUnixSeconds(time),
          absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(absl::ToUnixSeconds(time))));
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("failed to parse value as time or duration: \"", value, "\""));
}

std::string Rfc3339NanoFixed(int64_t unix_nanos) {
  const absl::Time time = absl::FromUnixNanos(unix_nanos);
  const absl::TimeZone zone = absl::LocalTimeZone();
  const bool utc = zone.At(time).offset == 0;
  return absl::FormatTime(utc ? "%Y-%m-%dT%H:%M:%E9SZ" : "%Y-%m-%dT%H:%M:%E9S%Ez", time, zone);
}

}  // namespace gantry::cli
