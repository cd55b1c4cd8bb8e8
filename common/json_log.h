// Docker's json-file log driver: the shim writes a container's stdout and
// stderr as `{"log":…,"stream":…,"time":…}` lines, rotated as Docker rotates
// them, so `docker logs`-style readers (engined, or Docker's own tools on the
// same files) see exactly what dockerd would have written.
//
// The writer runs in every shim (one process per container), so it is kept
// small: no threads, no iostreams, no JSON library; one write(2) per record.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace gantry {

enum class LogStream { kStdout, kStderr };

// "stdout" or "stderr", as the record's "stream" field spells it.
absl::string_view LogStreamName(LogStream stream);

// Docker's copier buffer: a line longer than this is logged in pieces of this
// size, without a newline (Docker's partial messages).
inline constexpr size_t kJsonLogMaxLine = 16 * 1024;

// Appends `s` as a quoted JSON string escaped as Docker's jsonlog does: `"`
// and `\` escaped, \n and \r as such, other control bytes as \u00XX, `<` `>`
// `&` as \u003c \u003e \u0026, U+2028/U+2029 escaped, invalid UTF-8 bytes
// as \ufffd.
void AppendJsonLogString(std::string& out, absl::string_view s);

// Go's time.RFC3339Nano in UTC: nanoseconds with trailing zeros trimmed
// ("2026-01-02T03:04:05.1Z"; no fraction at all on a whole second).
std::string FormatRfc3339NanoTrimmed(const struct timespec& ts);

// Appends one record, newline-terminated, byte for byte as dockerd writes it.
void AppendJsonLogRecord(std::string& out, LogStream stream, absl::string_view log,
                         const struct timespec& ts);

struct JsonLogOptions {
  // Bytes per file; 0 = unlimited. A record that would overflow the file
  // goes to a fresh one (dockerd rotates only once a file has reached the
  // limit, so its files overshoot by up to one record; ours do not, except a
  // single record larger than max_size, which gets a file of its own).
  int64_t max_size = 0;
  // Files kept, the live one included (path, path.1 … path.<max_file-1>).
  int max_file = 1;
  mode_t mode = 0640;
  // Time source for records; tests pin it. Null = CLOCK_REALTIME.
  struct timespec (*clock)() = nullptr;
};

// One writer per log file, used from one thread (the shim's event loop).
class JsonLogWriter {
 public:
  static absl::StatusOr<JsonLogWriter> Open(std::string path, JsonLogOptions options = {});

  JsonLogWriter(JsonLogWriter&&) = default;
  JsonLogWriter& operator=(JsonLogWriter&&) = default;

  // Logs a chunk read from the container's stream: each complete line is a
  // record (with its "\n"); the rest waits for its newline, unless it reaches
  // kJsonLogMaxLine, which is logged as a partial record without one.
  absl::Status Write(LogStream stream, absl::string_view chunk);

  // Logs what is pending on `stream` as a partial record (at EOF).
  absl::Status Flush(LogStream stream);

  const std::string& path() const { return path_; }

 private:
  struct Pending {
    std::string data;
    // Pieces of one long line share the time of the first, as in Docker.
    std::optional<struct timespec> first_ts;
  };

  JsonLogWriter(std::string path, JsonLogOptions options, UniqueFd fd, int64_t size)
      : path_(std::move(path)), options_(options), fd_(std::move(fd)), size_(size) {}

  absl::Status Emit(LogStream stream, absl::string_view log, Pending& pending, bool partial);
  absl::Status Append(absl::string_view record);
  absl::Status Rotate();
  struct timespec Now() const;

  std::string path_;
  JsonLogOptions options_;
  UniqueFd fd_;
  int64_t size_ = 0;
  Pending pending_[2];
  // Reused across records so a steady stream allocates nothing.
  std::string record_;
};

struct JsonLogRecord {
  std::string stream;
  // As written in the file (RFC 3339) and as nanoseconds since the epoch.
  std::string time;
  int64_t time_unix_nano = 0;
  std::string log;
};

struct JsonLogReadOptions {
  // Files to read: path.<max_file-1> … path.1, path (missing ones skipped).
  int max_file = 1;
  // Only the last `tail` records; nullopt = all. As dockerd, the tail is
  // taken before the time filters.
  std::optional<size_t> tail = std::nullopt;
  // Records with since <= time <= until (nanoseconds since the epoch), as
  // `docker logs --since/--until`.
  std::optional<int64_t> since_unix_nano = std::nullopt;
  std::optional<int64_t> until_unix_nano = std::nullopt;
};

// Reads the rotated files oldest first. A torn last line (a writer killed
// mid-rotation) is skipped; any other malformed line is an error naming the
// file and line.
absl::StatusOr<std::vector<JsonLogRecord>> ReadJsonLog(const std::string& path,
                                                       const JsonLogReadOptions& options = {});

// RFC 3339 with optional fraction and a Z or ±hh:mm offset, to nanoseconds
// since the epoch.
absl::StatusOr<int64_t> ParseRfc3339Nano(absl::string_view s);

}  // namespace gantry
