#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "common/time_util.h"

namespace gantry::log {
namespace {

struct Settings {
  int fd = STDERR_FILENO;
  Format format = Format::kText;
  Level min_level = Level::kInfo;
};

Settings& Current() {
  static Settings settings;
  return settings;
}

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string Quote(absl::string_view s) {
  // logrus quotes values with Go's %q rules; JSON string escaping matches for
  // the characters our messages contain.
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--log-format: unknown format \"", name, "\" (want text or json)"));
}

absl::Status Configure(const std::string& path, Format format, Level min_level) {
  Settings& s = Current();
  s.format = format;
  s.min_level = min_level;
  if (!path.empty()) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return LastErrno(absl::StrCat("--log: open ", path));
    if (s.fd != STDERR_FILENO) ::close(s.fd);
    s.fd = fd;
  }
  return absl::OkStatus();
}

int Fd() { return Current().fd; }

std::string FormatLine(Level level, absl::string_view message, absl::string_view time) {
  if (Current().format == Format::kJson) {
    nlohmann::json line = {
        {"level", LevelName(level)}, {"msg", std::string(message)}, {"time", std::string(time)}};
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return absl::StrCat("time=\"", time, "\" level=", LevelName(level), " msg=", Quote(message),
                      "\n");
}

void Write(Level level, absl::string_view message) {
  const Settings& s = Current();
  if (level < s.min_level) return;
  std::string line = FormatLine(level, message, gantry::NowRfc3339Nano());
  // One write(2) per line so concurrent writers (O_APPEND) never interleave.
  (void)!::write(s.fd, line.data(), line.size());
}

}  // namespace gantry::log
