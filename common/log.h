// A small process-wide logger writing logrus-compatible lines, because
// containerd's runc shim parses ocirun's log file in runc's (logrus) format:
//   text: time="2026-01-02T03:04:05Z" level=error msg="..."
//   json: {"level":"error","msg":"...","time":"2026-01-02T03:04:05Z"}
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace gantry::log {

enum class Level { kDebug, kInfo, kWarning, kError };
enum class Format { kText, kJson };

// Directs logs to `path` (appended; "" keeps stderr). Options apply process-wide.
absl::Status Configure(const std::string& path, Format format, Level min_level);
absl::StatusOr<Format> ParseFormat(absl::string_view name);

// The fd logs go to (stderr unless Configure gave a file), for children that
// must keep logging after exec.
int Fd();

void Write(Level level, absl::string_view message);
std::string FormatLine(Level level, absl::string_view message, absl::string_view time);

template <typename... Args>
void Debug(const Args&... args) {
  Write(Level::kDebug, absl::StrCat(args...));
}
template <typename... Args>
void Info(const Args&... args) {
  Write(Level::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void Warning(const Args&... args) {
  Write(Level::kWarning, absl::StrCat(args...));
}
template <typename... Args>
void Error(const Args&... args) {
  Write(Level::kError, absl::StrCat(args...));
}

}  // namespace gantry::log
