#include "common/json_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry {

absl::string_view LogStreamName(LogStream stream) {
  return stream == LogStream::kStdout ? "stdout" : "stderr";
}

namespace {

// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not
// one (the rules of Go's utf8.DecodeRune: no overlongs, no surrogates,
// nothing above U+10FFFF, no truncated sequences).
size_t Utf8SequenceLength(absl::string_view s, uint32_t* rune) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    *rune = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    *rune = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    *rune = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    unsigned char cc = b(i);
    if (cc < (i == 1 ? lo : 0x80) || cc > (i == 1 ? hi : 0xBF)) return 0;
    *rune = (*rune << 6) | (cc & 0x3F);
  }
  return len;
}

}  // namespace

void AppendJsonLogString(std::string& out, absl::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t start = 0;
  auto flush = [&](size_t i) { out.append(s.data() + start, i - start); };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c >= 0x20 && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&') {
        ++i;
        continue;
      }
      flush(i);
      switch (c) {
        case '\\':
        case '"':
          out.push_back('\\');
          out.push_back(static_cast<char>(c));
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        default:
          // Docker's writer has no short form for \t, \b or \f: \u0009 etc.
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
      }
      start = ++i;
      continue;
    }
    uint32_t rune = 0;
    size_t len = Utf8SequenceLength(s.substr(i), &rune);
    if (len == 0) {
      flush(i);
      out.append("\\ufffd");
      start = ++i;
      continue;
    }
    if (rune == 0x2028 || rune == 0x2029) {
      // Valid JSON, but line terminators to JavaScript.
      flush(i);
      out.append("\\u202");
      out.push_back(kHex[rune & 0xF]);
      start = i + len;
    }
    i += len;
  }
  flush(s.size());
  out.push_back('"');
}

std::string FormatRfc3339NanoTrimmed(const struct timespec& ts) {
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (ts.tv_nsec != 0) {
    n += snprintf(buf + n, sizeof buf - n, ".%09ld", ts.tv_nsec);
    while (buf[n - 1] == '0') --n;
  }
  buf[n++] = 'Z';
  return std::string(buf, n);
}

void AppendJsonLogRecord(std::string& out, LogStream stream, absl::string_view log,
                         const struct timespec& ts) {
  // Field order and spelling of dockerd's jsonlog.JSONLogs.MarshalJSONBuf.
  out.append("{\"log\":");
  AppendJsonLogString(out, log);
  out.append(",\"stream\":\"");
  out.append(LogStreamName(stream).data(), LogStreamName(stream).size());
  out.append("\",\"time\":\"");
  out.append(FormatRfc3339NanoTrimmed(ts));
  out.append("\"}\n");
}

absl::StatusOr<JsonLogWriter> JsonLogWriter::Open(std::string path, JsonLogOptions options) {
  if (options.max_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("json log ", path, ": max_size: must be >= 0, got ", options.max_size));
  }
  if (options.max_file < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("json log ", path, ": max_file: must be >= 1, got ", options.max_file));
  }
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, options.mode));
  if (!fd) return LastErrno(absl::StrCat("open ", path));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return LastErrno(absl::StrCat("fstat ", path));
  return JsonLogWriter(std::move(path), options, std::move(fd), st.st_size);
}

struct timespec JsonLogWriter::Now() const {
  if (options_.clock != nullptr) return options_.clock();
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

absl::Status JsonLogWriter::Write(LogStream stream, absl::string_view chunk) {
  Pending& pending = pending_[static_cast<int>(stream)];
  // Lines complete within the chunk go out without being copied.
  while (!chunk.empty()) {
    size_t room = kJsonLogMaxLine - pending.data.size();
    size_t nl = chunk.substr(0, room).find('\n');
    if (nl != absl::string_view::npos) {
      if (pending.data.empty()) {
        GANTRY_RETURN_IF_ERROR(Emit(stream, chunk.substr(0, nl + 1), pending, false));
      } else {
        pending.data.append(chunk.data(), nl + 1);
        std::string line = std::move(pending.data);
        pending.data.clear();
        GANTRY_RETURN_IF_ERROR(Emit(stream, line, pending, false));
      }
      chunk.remove_prefix(nl + 1);
      continue;
    }
    if (chunk.size() < room) {
      pending.data.append(chunk.data(), chunk.size());
      return absl::OkStatus();
    }
    // A full buffer without a newline: Docker logs it as a partial message.
    if (pending.data.empty()) {
      GANTRY_RETURN_IF_ERROR(Emit(stream, chunk.substr(0, room), pending, true));
    } else {
      pending.data.append(chunk.data(), room);
      std::string piece = std::move(pending.data);
      pending.data.clear();
      GANTRY_RETURN_IF_ERROR(Emit(stream, piece, pending, true));
    }
    chunk.remove_prefix(room);
  }
  return absl::OkStatus();
}

absl::Status JsonLogWriter::Flush(LogStream stream) {
  Pending& pending = pending_[static_cast<int>(stream)];
  if (pending.data.empty()) return absl::OkStatus();
  std::string piece = std::move(pending.data);
  pending.data.clear();
  GANTRY_RETURN_IF_ERROR(Emit(stream, piece, pending, true));
  // The line ends here: the next one gets its own time.
  pending.first_ts.reset();
  // Gives back what a long line made the buffer grow to.
  pending.data.shrink_to_fit();
  return absl::OkStatus();
}

absl::Status JsonLogWriter::Emit(LogStream stream, absl::string_view log, Pending& pending,
                                 bool partial) {
  struct timespec ts = pending.first_ts ? *pending.first_ts : Now();
  if (partial) {
    pending.first_ts = ts;
  } else {
    pending.first_ts.reset();
  }
  record_.clear();
  AppendJsonLogRecord(record_, stream, log, ts);
  absl::Status status = Append(record_);
  // A line of escapes can make the record ~6x its 16 KiB: don't keep that.
  if (record_.capacity() > 2 * kJsonLogMaxLine) std::string().swap(record_);
  return status;
}

absl::Status JsonLogWriter::Append(absl::string_view record) {
  const int64_t len = static_cast<int64_t>(record.size());
  // Rotate before the write that would overflow the file, so files stay
  // within max_size (a record larger than max_size gets a file of its own).
  if (options_.max_size > 0 && size_ > 0 && size_ + len > options_.max_size) {
    GANTRY_RETURN_IF_ERROR(Rotate());
  }
  // One write(2) per record on an O_APPEND fd: readers see whole records.
  for (;;) {
    ssize_t n = write(fd_.get(), record.data(), record.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrno(absl::StrCat("write ", path_));
    size_ += n;
    if (static_cast<size_t>(n) == record.size()) return absl::OkStatus();
    // Short write (disk full): finish it rather than leave half a record.
    record.remove_prefix(static_cast<size_t>(n));
  }
}

absl::Status JsonLogWriter::Rotate() {
  if (options_.max_file == 1) {
    if (ftruncate(fd_.get(), 0) != 0) return LastErrno(absl::StrCat("truncate ", path_));
    size_ = 0;
    return absl::OkStatus();
  }
  for (int i = options_.max_file - 1; i > 1; --i) {
    std::string from = absl::StrCat(path_, ".", i - 1);
    std::string to = absl::StrCat(path_, ".", i);
    if (rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return LastErrno(absl::StrCat("rotate ", from, " to ", to));
    }
  }
  std::string first = absl::StrCat(path_, ".1");
  if (rename(path_.c_str(), first.c_str()) != 0 && errno != ENOENT) {
    return LastErrno(absl::StrCat("rotate ", path_, " to ", first));
  }
  UniqueFd fd(
      open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, options_.mode));
  // On failure the old fd (now path.1) stays and the next record retries.
  if (!fd) return LastErrno(absl::StrCat("open ", path_));
  fd_ = std::move(fd);
  size_ = 0;
  return absl::OkStatus();
}

}  // namespace gantry
