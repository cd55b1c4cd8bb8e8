#include "engined/volumes/copy_up.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"

namespace gantry::engined {
namespace {

using InodeKey = std::pair<dev_t, ino_t>;

std::vector<std::string> Names(int dir) {
  std::vector<std::string> names;
  // fdopendir takes the fd it is given; a duplicate leaves `dir` open.
  DIR* stream = ::fdopendir(::fcntl(dir, F_DUPFD_CLOEXEC, 0));
  if (stream == nullptr) return names;
  ::rewinddir(stream);
  while (struct dirent* entry = ::readdir(stream)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(stream);
  return names;
}

absl::Status CopyXattrs(int source, int target, const std::string& name) {
  std::vector<char> list(::flistxattr(source, nullptr, 0) > 0 ? 64 * 1024 : 0);
  if (list.empty()) return absl::OkStatus();
  const ssize_t size = ::flistxattr(source, list.data(), list.size());
  for (ssize_t at = 0; at < size; at += static_cast<ssize_t>(std::strlen(list.data() + at)) + 1) {
    const char* key = list.data() + at;
    std::vector<char> value(64 * 1024);
    const ssize_t n = ::fgetxattr(source, key, value.data(), value.size());
    if (n < 0) continue;
    if (::fsetxattr(target, key, value.data(), static_cast<size_t>(n), 0) != 0 &&
        errno != ENOTSUP) {
      return LastErrno(absl::StrCat("copy extended attribute ", key, " of ", name));
    }
  }
  return absl::OkStatus();
}

// Owner, mode and times of an open (non-symlink) object.
absl::Status CopyMetadata(int source, int target, const struct stat& st, const std::string& name) {
  if (::fchown(target, st.st_uid, st.st_gid) != 0) return LastErrno(absl::StrCat("chown ", name));
  if (::fchmod(target, st.st_mode & 07777) != 0) return LastErrno(absl::StrCat("chmod ", name));
  GANTRY_RETURN_IF_ERROR(CopyXattrs(source, target, name));
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(target, times) != 0) return LastErrno(absl::StrCat("set times of ", name));
  return absl::OkStatus();
}

absl::Status CopyFileData(int source, int target, off_t size, const std::string& name) {
  off_t offset = 0;
  while (offset < size) {
    const ssize_t n = ::sendfile(target, source, &offset, static_cast<size_t>(size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrno(absl::StrCat("copy ", name));
    if (n == 0) break;
  }
  return absl::OkStatus();
}

// `links` maps the inodes with several names to an O_PATH fd of the first
// copy, linked by fd (AT_EMPTY_PATH), never by a path someone could swap.
absl::Status CopyTree(int source, int target, const std::string& prefix,
                      std::map<InodeKey, UniqueFd>& links) {
  for (const std::string& name : Names(source)) {
    const std::string path = absl::StrCat(prefix, "/", name);
    struct stat st {};
    if (::fstatat(source, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return LastErrno(absl::StrCat("stat ", path));
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      if (auto it = links.find({st.st_dev, st.st_ino}); it != links.end()) {
        if (::linkat(it->second.get(), "", target, name.c_str(), AT_EMPTY_PATH) != 0) {
          return LastErrno(absl::StrCat("link ", path));
        }
        continue;
      }
    }
    if (S_ISDIR(st.st_mode)) {
      UniqueFd from(
          ::openat(source, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!from) return LastErrno(absl::StrCat("open ", path));
      if (::mkdirat(target, name.c_str(), 0700) != 0 && errno != EEXIST) {
        return LastErrno(absl::StrCat("mkdir ", path));
      }
      UniqueFd to(::openat(target, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!to) return LastErrno(absl::StrCat("open ", path));
      GANTRY_RETURN_IF_ERROR(CopyTree(from.get(), to.get(), path, links));
      GANTRY_RETURN_IF_ERROR(CopyMetadata(from.get(), to.get(), st, path));
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd from(::openat(source, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!from) return LastErrno(absl::StrCat("open ", path));
      UniqueFd to(::openat(target, name.c_str(),
                           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!to) return LastErrno(absl::StrCat("create ", path));
      GANTRY_RETURN_IF_ERROR(CopyFileData(from.get(), to.get(), st.st_size, path));
      GANTRY_RETURN_IF_ERROR(CopyMetadata(from.get(), to.get(), st, path));
    } else if (S_ISLNK(st.st_mode)) {
      std::vector<char> link(static_cast<size_t>(st.st_size) + 1);
      const ssize_t n = ::readlinkat(source, name.c_str(), link.data(), link.size());
      if (n < 0) return LastErrno(absl::StrCat("readlink ", path));
      link[static_cast<size_t>(n)] = '\0';
      if (::symlinkat(link.data(), target, name.c_str()) != 0) {
        return LastErrno(absl::StrCat("symlink ", path));
      }
      if (::fchownat(target, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return LastErrno(absl::StrCat("chown ", path));
      }
      const struct timespec times[2] = {st.st_atim, st.st_mtim};
      (void)::utimensat(target, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
    } else {
      // Devices, FIFOs and sockets: the node itself.
      if (::mknodat(target, name.c_str(), st.st_mode, st.st_rdev) != 0) {
        return LastErrno(absl::StrCat("mknod ", path));
      }
      UniqueFd from(::openat(source, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd to(::openat(target, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!from || !to) return LastErrno(absl::StrCat("open ", path));
      if (::fchownat(to.get(), "", st.st_uid, st.st_gid, AT_EMPTY_PATH) != 0) {
        return LastErrno(absl::StrCat("chown ", path));
      }
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      UniqueFd copy(::openat(target, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!copy) return LastErrno(absl::StrCat("open ", path));
      links.emplace(InodeKey{st.st_dev, st.st_ino}, std::move(copy));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CopyDirectoryContents(int source, int target) {
  std::map<InodeKey, UniqueFd> links;
  GANTRY_RETURN_IF_ERROR(CopyTree(source, target, "", links));
  struct stat st {};
  if (::fstat(source, &st) != 0) return LastErrno("stat the image directory");
  // The volume's root takes the image directory's owner and mode, as Docker's copy does.
  return CopyMetadata(source, target, st, "/");
}

bool IsEmptyDirectory(int dir) { return Names(dir).empty(); }

}  // namespace gantry::engined
