#include "common/json_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"

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
  return Append(record_);
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

absl::StatusOr<int64_t> ParseRfc3339Nano(absl::string_view s) {
  auto bad = [&]() {
    return absl::InvalidArgumentError(
        absl::StrCat("time \"", s, "\": not RFC 3339 (want 2006-01-02T15:04:05.999999999Z07:00)"));
  };
  auto digits = [&](size_t pos, size_t n, int* out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  struct tm tm = {};
  int year, mon, day, hour, min, sec;
  if (!digits(0, 4, &year) || s.size() < 19 || s[4] != '-' || !digits(5, 2, &mon) || s[7] != '-' ||
      !digits(8, 2, &day) || (s[10] != 'T' && s[10] != 't') || !digits(11, 2, &hour) ||
      s[13] != ':' || !digits(14, 2, &min) || s[16] != ':' || !digits(17, 2, &sec)) {
    return bad();
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return bad();
  }
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    size_t begin = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == begin || pos - begin > 9) return bad();
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, &om)) {
      return bad();
    }
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset;
  return secs * 1000000000 + nanos;
}

namespace {

// Appends the records of one file, oldest first.
absl::Status ReadJsonLogFile(const std::string& file, std::vector<JsonLogRecord>& out) {
  absl::StatusOr<std::string> content = ReadFile(file);
  if (!content.ok()) {
    // Rotation may have moved it away between listing and reading.
    if (absl::IsNotFound(content.status())) return absl::OkStatus();
    return content.status();
  }
  absl::string_view rest = *content;
  size_t line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    size_t nl = rest.find('\n');
    // An unterminated tail is a record still being written: not one yet.
    if (nl == absl::string_view::npos) break;
    absl::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    auto where = [&]() { return absl::StrCat(file, ": line ", line_no); };
    if (j.is_discarded() || !j.is_object()) {
      return absl::DataLossError(absl::StrCat(where(), ": not a JSON object"));
    }
    JsonLogRecord rec;
    auto str = [&](const char* key, std::string* field, bool required) -> absl::Status {
      auto it = j.find(key);
      if (it == j.end()) {
        if (!required) return absl::OkStatus();
        return absl::DataLossError(absl::StrCat(where(), ": ", key, ": missing"));
      }
      if (!it->is_string()) {
        return absl::DataLossError(absl::StrCat(where(), ": ", key, ": expected a string"));
      }
      *field = it->get<std::string>();
      return absl::OkStatus();
    };
    // Docker omits "log" and "stream" when empty; "time" is always there.
    GANTRY_RETURN_IF_ERROR(str("log", &rec.log, false));
    GANTRY_RETURN_IF_ERROR(str("stream", &rec.stream, false));
    GANTRY_RETURN_IF_ERROR(str("time", &rec.time, true));
    absl::StatusOr<int64_t> t = ParseRfc3339Nano(rec.time);
    if (!t.ok()) return Annotate(t.status(), absl::StrCat(where(), ": time"));
    rec.time_unix_nano = *t;
    out.push_back(std::move(rec));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<JsonLogRecord>> ReadJsonLog(const std::string& path,
                                                       const JsonLogReadOptions& options) {
  if (options.max_file < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("json log ", path, ": max_file: must be >= 1, got ", options.max_file));
  }
  std::vector<JsonLogRecord> records;
  for (int i = options.max_file - 1; i >= 0; --i) {
    std::string file = i == 0 ? path : absl::StrCat(path, ".", i);
    GANTRY_RETURN_IF_ERROR(ReadJsonLogFile(file, records));
  }
  // As dockerd: the tail is taken first, then since/until filter it.
  if (options.tail && *options.tail < records.size()) {
    records.erase(records.begin(), records.end() - static_cast<ptrdiff_t>(*options.tail));
  }
  std::erase_if(records, [&](const JsonLogRecord& r) {
    return (options.since_unix_nano && r.time_unix_nano < *options.since_unix_nano) ||
           (options.until_unix_nano && r.time_unix_nano > *options.until_unix_nano);
  });
  return records;
}

}  // namespace gantry
