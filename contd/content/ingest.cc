#include "contd/content/ingest.h"

#include <sys/stat.h>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"

namespace gantry::contd::content {
namespace {

using google::protobuf::util::TimeUtil;

absl::StatusOr<google::protobuf::Timestamp> ReadTime(const std::string& path) {
  GANTRY_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  google::protobuf::Timestamp time;
  if (!TimeUtil::FromString(text, &time)) {
    return absl::DataLossError(absl::StrCat(path, ": not an RFC 3339 time: \"", text, "\""));
  }
  return time;
}

}  // namespace

std::string IngestKey(absl::string_view ns, absl::string_view ref) {
  return absl::StrCat(ns, "/", ref);
}

absl::StatusOr<IngestRecord> ReadIngest(const std::string& dir) {
  GANTRY_ASSIGN_OR_RETURN(std::string key, ReadFile(absl::StrCat(dir, "/ref")));
  const size_t slash = key.find('/');
  if (slash == std::string::npos) {
    return absl::DataLossError(absl::StrCat(dir, "/ref: \"", key, "\" has no namespace"));
  }
  IngestRecord record;
  record.ns = key.substr(0, slash);
  v1::ContentStatus& status = record.status;
  status.set_ref(key.substr(slash + 1));
  GANTRY_ASSIGN_OR_RETURN(std::string total, ReadFile(absl::StrCat(dir, "/total")));
  int64_t total_bytes = 0;
  if (!absl::SimpleAtoi(total, &total_bytes)) {
    return absl::DataLossError(absl::StrCat(dir, "/total: not a number: \"", total, "\""));
  }
  status.set_total(total_bytes);
  GANTRY_ASSIGN_OR_RETURN(*status.mutable_expected(), ReadFile(absl::StrCat(dir, "/expected")));
  GANTRY_ASSIGN_OR_RETURN(*status.mutable_started_at(), ReadTime(absl::StrCat(dir, "/startedat")));
  GANTRY_ASSIGN_OR_RETURN(*status.mutable_updated_at(), ReadTime(absl::StrCat(dir, "/updatedat")));
  const std::string data = absl::StrCat(dir, "/data");
  struct stat st;
  if (::stat(data.c_str(), &st) != 0) return LastErrno(absl::StrCat("stat ", data));
  status.set_offset(st.st_size);
  // Writes touch only `data`; its mtime is the last write.
  const google::protobuf::Timestamp written = TimeUtil::NanosecondsToTimestamp(
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  if (written > status.updated_at()) *status.mutable_updated_at() = written;
  return record;
}

absl::Status WriteIngestFile(const std::string& dir, absl::string_view name,
                             absl::string_view value) {
  // Volatile: after a crash the ingest resumes from `data`, whatever these say.
  return WriteFileAtomic(absl::StrCat(dir, "/", name), value, 0600, Durability::kVolatile);
}

absl::Status WriteIngestTime(const std::string& dir, absl::string_view name,
                             const google::protobuf::Timestamp& time) {
  return WriteIngestFile(dir, name, TimeUtil::ToString(time));
}

}  // namespace gantry::contd::content
