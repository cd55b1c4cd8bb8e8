#include "common/stored_uuid.h"

#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"

namespace gantry {
namespace {

constexpr size_t kUuidLength = 36;  // 8-4-4-4-12 hex digits and dashes

bool LooksLikeUuid(absl::string_view text) {
  if (text.size() != kUuidLength) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !absl::ascii_isxdigit(text[i])) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> LoadOrCreateStoredUuid(const std::string& path) {
  absl::StatusOr<std::string> stored = ReadFile(path);
  if (stored.ok()) {
    std::string uuid(absl::StripAsciiWhitespace(*stored));
    if (!LooksLikeUuid(uuid)) {
      return absl::DataLossError(absl::StrCat(path, ": not a UUID: \"", uuid, "\""));
    }
    return uuid;
  }
  if (!absl::IsNotFound(stored.status())) return stored.status();

  // The kernel hands out random (version 4) UUIDs.
  GANTRY_ASSIGN_OR_RETURN(std::string random, ReadFile("/proc/sys/kernel/random/uuid"));
  std::string uuid(absl::StripAsciiWhitespace(random));
  GANTRY_RETURN_IF_ERROR(MakeDirs(std::filesystem::path(path).parent_path(), 0700));
  GANTRY_RETURN_IF_ERROR(WriteFileAtomic(path, uuid + "\n", 0600));
  return uuid;
}

}  // namespace gantry
