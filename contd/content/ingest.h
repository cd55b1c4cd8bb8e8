// The files of one ingest directory (ingest/<sha256 of key>/): `ref` holds
// the key "<namespace>/<ref>", `total` and `expected` what the writer was
// told to expect, `startedat`/`updatedat` RFC 3339 times, `data` the bytes.
#pragma once

#include <cstdint>
#include <string>

#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/v1/content.pb.h"

namespace gantry::contd::content {

// The key an ingest is stored under: refs are per namespace.
std::string IngestKey(absl::string_view ns, absl::string_view ref);

struct IngestRecord {
  std::string ns;
  v1::ContentStatus status;  // offset is the size of `data`
};

// NOT_FOUND when the directory or its `ref` file is missing.
absl::StatusOr<IngestRecord> ReadIngest(const std::string& dir);

// Writes one of the small files (`total`, `updatedat` ...).
absl::Status WriteIngestFile(const std::string& dir, absl::string_view name,
                             absl::string_view value);
absl::Status WriteIngestTime(const std::string& dir, absl::string_view name,
                             const google::protobuf::Timestamp& time);

}  // namespace gantry::contd::content
