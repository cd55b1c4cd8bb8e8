#include "engined/containers/user_lookup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/path_in_root.h"

namespace gantry::engined {
namespace {

// The lines of /etc/passwd or /etc/group inside the root, split at ':';
// a missing file has none.
std::vector<std::vector<std::string>> ReadDatabase(int root, const std::string& path) {
  std::vector<std::vector<std::string>> entries;
  // The container's files are its own: a FIFO or /dev/zero there must not
  // block or fill engined, so only a regular file, and at most 1 MiB of it.
  constexpr size_t kMaxSize = 1 << 20;
  absl::StatusOr<UniqueFd> fd = OpenInRoot(root, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st {};
  if (!fd.ok() || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return entries;
  std::string text;
  char buffer[4096];
  for (ssize_t n; text.size() < kMaxSize && (n = ::read(fd->get(), buffer, sizeof(buffer))) > 0;) {
    text.append(buffer, static_cast<size_t>(n));
  }
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line.front() == '#') continue;
    entries.push_back(absl::StrSplit(line, ':'));
  }
  return entries;
}

}  // namespace

bool UserHasNames(const std::string& user) {
  for (absl::string_view part : absl::StrSplit(user, ':')) {
    uint32_t number;
    if (!part.empty() && !absl::SimpleAtoi(part, &number)) return true;
  }
  return false;
}

absl::StatusOr<nlohmann::json> LookupUser(int root, const std::string& user) {
  std::vector<std::string> parts = absl::StrSplit(user, absl::MaxSplits(':', 1));
  const std::string& user_part = parts[0];
  const auto passwd = ReadDatabase(root, "/etc/passwd");
  const auto groups = ReadDatabase(root, "/etc/group");

  uint32_t uid = 0, gid = 0;
  std::string user_name;
  const bool numeric_user = absl::SimpleAtoi(user_part, &uid);
  bool found = false;
  for (const auto& entry : passwd) {
    if (entry.size() < 4) continue;
    uint32_t entry_uid;
    if (!absl::SimpleAtoi(entry[2], &entry_uid)) continue;
    if (numeric_user ? entry_uid == uid : entry[0] == user_part) {
      uid = entry_uid;
      (void)absl::SimpleAtoi(entry[3], &gid);
      user_name = entry[0];
      found = true;
      break;
    }
  }
  if (!found && !numeric_user) {
    return absl::InvalidArgumentError(absl::StrCat("Config.User: unable to find user ", user_part,
                                                   ": no matching entries in passwd file"));
  }
  if (!found) gid = uid;  // a uid with no entry: its own number as group, as Docker does
  if (parts.size() == 2 && !parts[1].empty()) {
    if (!absl::SimpleAtoi(parts[1], &gid)) {
      bool group_found = false;
      for (const auto& entry : groups) {
        if (entry.size() >= 3 && entry[0] == parts[1] && absl::SimpleAtoi(entry[2], &gid)) {
          group_found = true;
          break;
        }
      }
      if (!group_found) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Config.User: unable to find group ", parts[1], ": no matching entries in group file"));
      }
    }
  }
  // Supplementary groups: those listing the user by name.
  std::vector<uint32_t> additional;
  if (!user_name.empty()) {
    for (const auto& entry : groups) {
      if (entry.size() < 4) continue;
      for (absl::string_view member : absl::StrSplit(entry[3], ',', absl::SkipEmpty())) {
        uint32_t group_id;
        if (member == user_name && absl::SimpleAtoi(entry[2], &group_id) && group_id != gid) {
          additional.push_back(group_id);
        }
      }
    }
  }
  nlohmann::json result = {{"uid", uid}, {"gid", gid}};
  if (!additional.empty()) result["additionalGids"] = additional;
  return result;
}

}  // namespace gantry::engined
