#include "common/socket_file.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/unique_fd.h"

namespace gantry {
namespace {

// True when something accepts connections on the socket at path.
bool SocketAnswers(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

}  // namespace

absl::Status PrepareSocketPath(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("socket path is empty");
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": socket path longer than ",
                                                   sizeof(sockaddr_un::sun_path) - 1, " bytes"));
  }
  std::string parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    // 0711: clients may reach the socket, but not list what else is there.
    GANTRY_RETURN_IF_ERROR(MakeDirs(parent, 0711));
  }

  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return LastErrno(absl::StrCat("stat ", path));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": exists and is not a socket; not removing it"));
  }
  if (SocketAnswers(path)) {
    return absl::AlreadyExistsError(
        absl::StrCat(path, ": another server is already listening on this socket"));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return LastErrno(absl::StrCat("remove stale socket ", path));
  }
  return absl::OkStatus();
}

absl::Status RestrictSocket(const std::string& path, std::optional<gid_t> group) {
  if (group.has_value() && ::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    return LastErrno(absl::StrCat("chown ", path, " to group ", *group));
  }
  if (::chmod(path.c_str(), 0660) != 0) return LastErrno(absl::StrCat("chmod 0660 ", path));
  return absl::OkStatus();
}

absl::StatusOr<gid_t> LookupGroup(const std::string& group) {
  if (gid_t gid; absl::SimpleAtoi(group, &gid)) return gid;

  long size_hint = ::sysconf(_SC_GETGR_R_SIZE_MAX);
  std::vector<char> buffer(size_hint > 0 ? static_cast<size_t>(size_hint) : 4096);
  struct group entry;
  struct group* found = nullptr;
  int err;
  while ((err = ::getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
         ERANGE) {
    buffer.resize(buffer.size() * 2);
  }
  if (err != 0) return ErrnoError(err, absl::StrCat("look up group ", group));
  if (found == nullptr)
    return absl::NotFoundError(absl::StrCat("group ", group, ": no such group"));
  return found->gr_gid;
}

}  // namespace gantry
