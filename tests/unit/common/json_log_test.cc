#include "common/json_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "tests/temp_dir.h"

using gantry::AppendJsonLogString;
using gantry::JsonLogOptions;
using gantry::JsonLogRecord;
using gantry::JsonLogWriter;
using gantry::LogStream;

namespace {

std::string Escaped(absl::string_view s) {
  std::string out;
  AppendJsonLogString(out, s);
  return out;
}

// A clock that ticks one nanosecond per record, from 2024-01-01T00:00:00Z.
int64_t g_ticks = 0;
struct timespec TickingClock() {
  return {1704067200, static_cast<long>(++g_ticks)};
}

// The log file of a container, in a directory of its own.
class LogDir {
 public:
  std::string path() const { return dir_.path() + "/c-json.log"; }

 private:
  gantry::testing::TempDir dir_{"jsonlog"};
};

JsonLogWriter OpenWriter(const std::string& path, JsonLogOptions options = {}) {
  g_ticks = 0;
  options.clock = TickingClock;
  auto w = JsonLogWriter::Open(path, options);
  REQUIRE(w.ok());
  return std::move(*w);
}

std::vector<JsonLogRecord> ReadAll(const std::string& path, int max_file = 1) {
  auto records = gantry::ReadJsonLog(path, {.max_file = max_file});
  REQUIRE(records.ok());
  return *records;
}

// "stream:log" per record, for compact expectations.
std::vector<std::string> Lines(const std::vector<JsonLogRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.stream + ":" + r.log);
  return out;
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_size;
}

}  // namespace

TEST_CASE("a record is byte for byte what dockerd's json-file driver writes", "[json_log]") {
  LogDir dir;
  JsonLogWriter w = OpenWriter(dir.path());
  REQUIRE(w.Write(LogStream::kStdout, "hello \"world\"\n").ok());
  REQUIRE(w.Write(LogStream::kStderr, "<b>&</b>\ttab\n").ok());
  CHECK(*gantry::ReadFile(dir.path()) ==
        "{\"log\":\"hello \\\"world\\\"\\n\",\"stream\":\"stdout\","
        "\"time\":\"2024-01-01T00:00:00.000000001Z\"}\n"
        "{\"log\":\"\\u003cb\\u003e\\u0026\\u003c/b\\u003e\\u0009tab\\n\",\"stream\":\"stderr\","
        "\"time\":\"2024-01-01T00:00:00.000000002Z\"}\n");
  struct stat st;
  REQUIRE(::stat(dir.path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("a hostile line comes out as Debian's dockerd 20.10 wrote it", "[json_log]") {
  // Input bytes and expected record taken from a real run: dockerd's
  // json-file log of `cat` of these bytes (time pinned here).
  const std::string input =
      "a\"b\\c\t<x>&\001\037\177 \377 \342\202 h\303\251llo \342\202\254 "
      "\360\235\204\236 \342\200\250|\342\200\251 \355\240\200 \300\257\r\n";
  std::string record;
  gantry::AppendJsonLogRecord(record, LogStream::kStdout, input, {1704067200, 500});
  CHECK(record ==
        "{\"log\":\"a\\\"b\\\\c\\u0009\\u003cx\\u003e\\u0026\\u0001\\u001f\177 \\ufffd "
        "\\ufffd\\ufffd h\303\251llo \342\202\254 \360\235\204\236 \\u2028|\\u2029 "
        "\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\\r\\n\",\"stream\":\"stdout\","
        "\"time\":\"2024-01-01T00:00:00.0000005Z\"}\n");
}

TEST_CASE("times are Go's RFC3339Nano: UTC, trailing zeros trimmed", "[json_log]") {
  CHECK(gantry::FormatRfc3339NanoTrimmed({1704067200, 123456789}) ==
        "2024-01-01T00:00:00.123456789Z");
  CHECK(gantry::FormatRfc3339NanoTrimmed({1704067200, 120000000}) == "2024-01-01T00:00:00.12Z");
  CHECK(gantry::FormatRfc3339NanoTrimmed({1704067200, 0}) == "2024-01-01T00:00:00Z");
  CHECK(*gantry::ParseRfc3339Nano("2024-01-01T00:00:00.12Z") == 1704067200120000000);
  CHECK(*gantry::ParseRfc3339Nano("2024-01-01T01:00:00+01:00") == 1704067200000000000);
  CHECK(gantry::ParseRfc3339Nano("2024-01-01 00:00:00").status().message() ==
        "time \"2024-01-01 00:00:00\": not RFC 3339 (want 2006-01-02T15:04:05.999999999Z07:00)");
}

TEST_CASE("escaping follows Docker's jsonlog writer", "[json_log]") {
  SECTION("quotes and backslashes") { CHECK(Escaped("a\"b\\c") == R"("a\"b\\c")"); }
  SECTION("control characters") {
    CHECK(Escaped("\n\r\t\b\f") == R"("\n\r\u0009\u0008\u000c")");
    CHECK(Escaped(std::string("\0\x1f\x7f", 3)) == "\"\\u0000\\u001f\x7f\"");
  }
  SECTION("HTML-safe <, > and &") { CHECK(Escaped("<a>&") == R"("\u003ca\u003e\u0026")"); }
  SECTION("U+2028 and U+2029") { CHECK(Escaped("x\u2028y\u2029z") == R"("x\u2028y\u2029z")"); }
  SECTION("multi-byte UTF-8 is kept as is") {
    CHECK(Escaped("héllo € 𝄞 日本") == "\"héllo € 𝄞 日本\"");
    CHECK(Escaped("\xef\xbf\xbd") == "\"\xef\xbf\xbd\"");
  }
  SECTION("invalid UTF-8 bytes become \\ufffd, one per byte") {
    CHECK(Escaped("a\xff"
                  "b") == R"("a\ufffdb")");
    // Truncated 3-byte sequence, lone continuation byte, overlong, surrogate.
    CHECK(Escaped("\xe2\x82") == R"("\ufffd\ufffd")");
    CHECK(Escaped("\x80") == R"("\ufffd")");
    CHECK(Escaped("\xc0\xaf") == R"("\ufffd\ufffd")");
    CHECK(Escaped("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");
    CHECK(Escaped("\xf4\x90\x80\x80") == R"("\ufffd\ufffd\ufffd\ufffd")");
  }
}

TEST_CASE("lines are split across chunk boundaries as Docker's copier", "[json_log]") {
  LogDir dir;
  JsonLogWriter w = OpenWriter(dir.path());
  REQUIRE(w.Write(LogStream::kStdout, "one\ntw").ok());
  REQUIRE(w.Write(LogStream::kStdout, "o\nthr").ok());
  REQUIRE(w.Write(LogStream::kStdout, "ee").ok());
  REQUIRE(w.Write(LogStream::kStdout, "\n\nfour\nfive").ok());
  CHECK(Lines(ReadAll(dir.path())) == std::vector<std::string>{"stdout:one\n", "stdout:two\n",
                                                               "stdout:three\n", "stdout:\n",
                                                               "stdout:four\n"});

  SECTION("Flush logs the pending partial line without a newline") {
    REQUIRE(w.Flush(LogStream::kStdout).ok());
    REQUIRE(w.Flush(LogStream::kStdout).ok());  // nothing left: no empty record
    auto records = ReadAll(dir.path());
    REQUIRE(records.size() == 6);
    CHECK(records.back().log == "five");
  }
}

TEST_CASE("a line longer than 16 KiB is logged in 16 KiB partial pieces", "[json_log]") {
  LogDir dir;
  JsonLogWriter w = OpenWriter(dir.path());
  std::string big(2 * gantry::kJsonLogMaxLine + 100, 'x');
  // In small chunks, as reads from a pipe arrive.
  std::string data = big + "\n";
  for (size_t i = 0; i < data.size(); i += 1000) {
    REQUIRE(w.Write(LogStream::kStdout, absl::string_view(data).substr(i, 1000)).ok());
  }
  // A line of exactly 16 KiB does not fit with its newline either.
  REQUIRE(w.Write(LogStream::kStdout, std::string(gantry::kJsonLogMaxLine, 'y') + "\n").ok());

  auto records = ReadAll(dir.path());
  REQUIRE(records.size() == 5);
  CHECK(records[0].log == std::string(gantry::kJsonLogMaxLine, 'x'));
  CHECK(records[1].log == std::string(gantry::kJsonLogMaxLine, 'x'));
  CHECK(records[2].log == std::string(100, 'x') + "\n");
  CHECK(records[3].log == std::string(gantry::kJsonLogMaxLine, 'y'));
  CHECK(records[4].log == "\n");
  // The pieces of one line carry the time of the first, as in Docker.
  CHECK(records[0].time == records[1].time);
  CHECK(records[0].time == records[2].time);
  CHECK(records[3].time != records[2].time);
}

TEST_CASE("stdout and stderr keep separate partial lines", "[json_log]") {
  LogDir dir;
  JsonLogWriter w = OpenWriter(dir.path());
  REQUIRE(w.Write(LogStream::kStdout, "out-a").ok());
  REQUIRE(w.Write(LogStream::kStderr, "err-a").ok());
  REQUIRE(w.Write(LogStream::kStdout, "out-b\n").ok());
  REQUIRE(w.Write(LogStream::kStderr, "err-b\nerr-tail").ok());
  REQUIRE(w.Write(LogStream::kStdout, "out-tail").ok());
  REQUIRE(w.Flush(LogStream::kStderr).ok());
  REQUIRE(w.Flush(LogStream::kStdout).ok());
  CHECK(Lines(ReadAll(dir.path())) ==
        std::vector<std::string>{"stdout:out-aout-b\n", "stderr:err-aerr-b\n", "stderr:err-tail",
                                 "stdout:out-tail"});
}

TEST_CASE("rotation keeps files within max_size and loses no record", "[json_log]") {
  LogDir dir;
  // Each record of "line NNN\n" is about 80 bytes: some 6 per file.
  const int64_t kMaxSize = 500;
  const int kRecords = 100;
  auto write_all = [&](JsonLogWriter& w) {
    for (int i = 0; i < kRecords; ++i) {
      char line[32];
      snprintf(line, sizeof line, "line %03d\n", i);
      REQUIRE(w.Write(i % 2 ? LogStream::kStderr : LogStream::kStdout, line).ok());
    }
  };

  SECTION("max_file 3: path.2, path.1, path, oldest first") {
    JsonLogWriter w = OpenWriter(dir.path(), {.max_size = kMaxSize, .max_file = 3});
    write_all(w);
    for (const char* suffix : {"", ".1", ".2"}) {
      int64_t size = FileSize(dir.path() + suffix);
      INFO(suffix);
      CHECK(size > 0);
      CHECK(size <= kMaxSize);
    }
    CHECK(FileSize(dir.path() + ".3") == -1);
    auto records = ReadAll(dir.path(), 3);
    // Three files of at most 6 records each; the newest ones, in order.
    REQUIRE(records.size() >= 13);
    int first = kRecords - static_cast<int>(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      char line[32];
      snprintf(line, sizeof line, "line %03d\n", first + static_cast<int>(i));
      CHECK(records[i].log == line);
      CHECK(records[i].stream == ((first + i) % 2 ? "stderr" : "stdout"));
    }
  }

  SECTION("enough files: every record is there, in order") {
    JsonLogWriter w = OpenWriter(dir.path(), {.max_size = kMaxSize, .max_file = 40});
    write_all(w);
    CHECK(FileSize(dir.path() + ".10") > 0);
    auto records = ReadAll(dir.path(), 40);
    REQUIRE(records.size() == kRecords);
    for (int i = 0; i < kRecords; ++i) {
      char line[32];
      snprintf(line, sizeof line, "line %03d\n", i);
      CHECK(records[i].log == line);
    }
  }

  SECTION("max_file 1: the file is truncated and keeps the newest records") {
    JsonLogWriter w = OpenWriter(dir.path(), {.max_size = kMaxSize, .max_file = 1});
    write_all(w);
    CHECK(FileSize(dir.path()) <= kMaxSize);
    CHECK(FileSize(dir.path() + ".1") == -1);
    auto records = ReadAll(dir.path());
    REQUIRE_FALSE(records.empty());
    CHECK(records.back().log == "line 099\n");
  }

  SECTION("a reopened writer continues the file's size") {
    {
      JsonLogWriter w = OpenWriter(dir.path(), {.max_size = kMaxSize, .max_file = 2});
      REQUIRE(w.Write(LogStream::kStdout, "line 000\nline 001\nline 002\nline 003\n").ok());
    }
    JsonLogWriter w = OpenWriter(dir.path(), {.max_size = kMaxSize, .max_file = 2});
    REQUIRE(w.Write(LogStream::kStdout, "line 004\nline 005\nline 006\n").ok());
    CHECK(FileSize(dir.path()) <= kMaxSize);
    CHECK(ReadAll(dir.path(), 2).size() == 7);
  }
}

TEST_CASE("reading applies tail, then since and until, as docker logs", "[json_log]") {
  LogDir dir;
  JsonLogWriter w = OpenWriter(dir.path(), {.max_size = 300, .max_file = 5});
  REQUIRE(w.Write(LogStream::kStdout, "a\nb\nc\nd\ne\nf\n").ok());
  const int64_t t0 = 1704067200LL * 1000000000;  // records at t0+1 … t0+6

  auto tail = gantry::ReadJsonLog(dir.path(), {.max_file = 5, .tail = 2});
  REQUIRE(tail.ok());
  CHECK(Lines(*tail) == std::vector<std::string>{"stdout:e\n", "stdout:f\n"});

  auto window = gantry::ReadJsonLog(
      dir.path(), {.max_file = 5, .since_unix_nano = t0 + 2, .until_unix_nano = t0 + 4});
  REQUIRE(window.ok());
  CHECK(Lines(*window) == std::vector<std::string>{"stdout:b\n", "stdout:c\n", "stdout:d\n"});
  CHECK(window->front().time == "2024-01-01T00:00:00.000000002Z");
}

TEST_CASE("bad options and malformed files are errors that say where", "[json_log]") {
  LogDir dir;
  CHECK(JsonLogWriter::Open(dir.path(), {.max_file = 0}).status().message() ==
        "json log " + dir.path() + ": max_file: must be >= 1, got 0");
  REQUIRE(gantry::WriteFileAtomic(dir.path(), "{\"log\":\"x\\n\",\"time\":\"now\"}\n").ok());
  CHECK(
      gantry::ReadJsonLog(dir.path()).status().message() ==
      dir.path() +
          ": line 1: time: time \"now\": not RFC 3339 (want 2006-01-02T15:04:05.999999999Z07:00)");
  // A record still being written (no newline yet) is not read.
  REQUIRE(gantry::WriteFileAtomic(dir.path(),
                                  "{\"log\":\"x\\n\",\"time\":\"2024-01-01T00:00:00Z\"}\n"
                                  "{\"log\":\"y")
              .ok());
  CHECK(ReadAll(dir.path()).size() == 1);
}
