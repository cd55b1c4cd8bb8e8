// The reading half of json_log.h, in a file of its own so that the shim,
// which only writes, links neither it nor nlohmann_json.
#include "common/json_log.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"

namespace gantry {

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
