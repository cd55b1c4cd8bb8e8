#include "common/file_util.h"
#include <sys/mount.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"

namespace gantry {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return LastErrno(absl::StrCat("open ", path));
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastErrno(absl::StrCat("read ", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

namespace {
absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastErrno(absl::StrCat("write ", path));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}
}  // namespace

absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode,
                             Durability durability) {
  std::string tmp = absl::StrCat(path, ".tmp-", ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return LastErrno(absl::StrCat("create ", tmp));
  absl::Status st = WriteAll(fd.get(), data, tmp);
  if (st.ok() && durability == Durability::kDurable && ::fsync(fd.get()) != 0)
    st = LastErrno(absl::StrCat("fsync ", tmp));
  fd.Reset();
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = LastErrno(absl::StrCat("rename ", tmp, " to ", path));
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

absl::Status WriteExistingFile(const std::string& path, absl::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return LastErrno(absl::StrCat("open ", path));
  // Kernel knobs take one value per write(2); a short write is an error.
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0) return LastErrno(absl::StrCat("write ", path));
  return absl::OkStatus();
}

absl::Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::OkStatus();
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST)
      return LastErrno(absl::StrCat("mkdir ", partial));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return LastErrno(absl::StrCat("stat ", path));
  if (!S_ISDIR(st.st_mode)) return ErrnoError(ENOTDIR, absl::StrCat("mkdir ", path));
  return absl::OkStatus();
}

absl::Status RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return LastErrno(absl::StrCat("stat ", path));
  }
  static thread_local int first_error;
  first_error = 0;
  int rc = ::nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) -> int {
        if (::remove(p) != 0 && errno != ENOENT && first_error == 0) first_error = errno;
        return 0;
      },
      64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (rc != 0) return LastErrno(absl::StrCat("remove ", path));
  if (first_error != 0) return ErrnoError(first_error, absl::StrCat("remove ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return LastErrno(absl::StrCat("open ", path));
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> ListDirectoryIfAny(const std::string& path) {
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(path);
  return names.ok() ? *std::move(names) : std::vector<std::string>{};
}

void UnmountAll(const std::string& path) {
  while (::umount2(path.c_str(), MNT_DETACH) == 0) {
  }
}

}  // namespace gantry
