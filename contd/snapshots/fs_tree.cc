#include "contd/snapshots/fs_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"

namespace gantry::contd::snapshots {
namespace {

using InodeKey = std::pair<dev_t, ino_t>;

// Names in a directory, without "." and "..".
absl::StatusOr<std::vector<std::string>> ListDir(int dir_fd, const std::string& path) {
  UniqueFd fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return LastErrno(absl::StrCat("open ", path));
  DIR* dir = ::fdopendir(fd.Release());
  if (dir == nullptr) return LastErrno(absl::StrCat("open ", path));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

// The l*xattr calls, so that a symlink's own xattrs are copied.
absl::Status CopyXattrs(const std::string& src, const std::string& dst, const std::string& what) {
  const ssize_t length = ::llistxattr(src.c_str(), nullptr, 0);
  if (length < 0) return LastErrno(absl::StrCat("list xattrs of ", what));
  if (length == 0) return absl::OkStatus();
  std::vector<char> names(static_cast<size_t>(length));
  const ssize_t n = ::llistxattr(src.c_str(), names.data(), names.size());
  if (n < 0) return LastErrno(absl::StrCat("list xattrs of ", what));
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    const char* name = names.data() + i;
    i += std::strlen(name) + 1;
    const ssize_t size = ::lgetxattr(src.c_str(), name, nullptr, 0);
    if (size < 0) return LastErrno(absl::StrCat("read xattr ", name, " of ", what));
    std::string value(static_cast<size_t>(size), '\0');
    if (::lgetxattr(src.c_str(), name, value.data(), value.size()) < 0) {
      return LastErrno(absl::StrCat("read xattr ", name, " of ", what));
    }
    if (::lsetxattr(dst.c_str(), name, value.data(), value.size(), 0) != 0) {
      return LastErrno(absl::StrCat("set xattr ", name, " on ", what));
    }
  }
  return absl::OkStatus();
}

class TreeCopier {
 public:
  TreeCopier(std::string src_root, std::string dst_root)
      : src_root_(std::move(src_root)), dst_root_(std::move(dst_root)) {}

  absl::Status CopyDir(const std::string& rel, dev_t dev) {
    const std::string src = absl::StrCat(src_root_, rel);
    UniqueFd dir(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) return LastErrno(absl::StrCat("open ", src));
    GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir.get(), src));
    for (const std::string& name : names) {
      GANTRY_RETURN_IF_ERROR(CopyEntry(absl::StrCat(rel, "/", name), dev));
    }
    return absl::OkStatus();
  }

  // Directory times last, once nothing more is created in them.
  absl::Status FinishDirTimes() {
    for (const auto& [path, st] : dir_times_) {
      const timespec times[2] = {st.st_atim, st.st_mtim};
      if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        return LastErrno(absl::StrCat("set times of ", path));
      }
    }
    return absl::OkStatus();
  }

  void AddDirTimes(const std::string& path, const struct stat& st) { dir_times_[path] = st; }

 private:
  absl::Status CopyEntry(const std::string& rel, dev_t dev) {
    const std::string src = absl::StrCat(src_root_, rel);
    const std::string dst = absl::StrCat(dst_root_, rel);
    struct stat st;
    if (::lstat(src.c_str(), &st) != 0) return LastErrno(absl::StrCat("stat ", src));
    if (st.st_dev != dev) return absl::OkStatus();  // another mount
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto it = links_.find({st.st_dev, st.st_ino});
      if (it != links_.end()) {
        if (::link(it->second.c_str(), dst.c_str()) != 0) {
          return LastErrno(absl::StrCat("link ", dst));
        }
        return absl::OkStatus();
      }
      links_[{st.st_dev, st.st_ino}] = dst;
    }
    if (S_ISDIR(st.st_mode)) {
      if (::mkdir(dst.c_str(), 0700) != 0) return LastErrno(absl::StrCat("mkdir ", dst));
      GANTRY_RETURN_IF_ERROR(CopyDir(rel, dev));
      AddDirTimes(dst, st);
    } else if (S_ISREG(st.st_mode)) {
      GANTRY_RETURN_IF_ERROR(CopyFile(src, dst, st));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      const ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
      if (n < 0) return LastErrno(absl::StrCat("readlink ", src));
      target.resize(static_cast<size_t>(n));
      if (::symlink(target.c_str(), dst.c_str()) != 0) {
        return LastErrno(absl::StrCat("symlink ", dst));
      }
    } else {
      if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0) {
        return LastErrno(absl::StrCat("mknod ", dst));
      }
    }
    return CopyMetadata(src, dst, st);
  }

  static absl::Status CopyFile(const std::string& src, const std::string& dst,
                               const struct stat& st) {
    UniqueFd in(::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) return LastErrno(absl::StrCat("open ", src));
    UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return LastErrno(absl::StrCat("create ", dst));
    off_t left = st.st_size;
    while (left > 0) {
      const ssize_t n =
          ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(left), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LastErrno(absl::StrCat("copy ", src, " to ", dst));
      if (n == 0) break;
      left -= n;
    }
    return absl::OkStatus();
  }

  static absl::Status CopyMetadata(const std::string& src, const std::string& dst,
                                   const struct stat& st) {
    if (::lchown(dst.c_str(), st.st_uid, st.st_gid) != 0) {
      return LastErrno(absl::StrCat("chown ", dst));
    }
    // After chown, which clears the set-id bits.
    if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) {
      return LastErrno(absl::StrCat("chmod ", dst));
    }
    GANTRY_RETURN_IF_ERROR(CopyXattrs(src, dst, dst));
    if (!S_ISDIR(st.st_mode)) {
      const timespec times[2] = {st.st_atim, st.st_mtim};
      if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        return LastErrno(absl::StrCat("set times of ", dst));
      }
    }
    return absl::OkStatus();
  }

  const std::string src_root_;
  const std::string dst_root_;
  std::map<InodeKey, std::string> links_;
  std::map<std::string, struct stat> dir_times_;
};

absl::Status AddUsage(const std::string& path, dev_t dev, std::set<InodeKey>& seen, Usage& usage) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return LastErrno(absl::StrCat("stat ", path));
  if (st.st_dev != dev) return absl::OkStatus();
  if (!seen.insert({st.st_dev, st.st_ino}).second) return absl::OkStatus();
  usage.inodes += 1;
  usage.size += static_cast<int64_t>(st.st_blocks) * 512;
  if (!S_ISDIR(st.st_mode)) return absl::OkStatus();
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return LastErrno(absl::StrCat("open ", path));
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir.get(), path));
  for (const std::string& name : names) {
    GANTRY_RETURN_IF_ERROR(AddUsage(absl::StrCat(path, "/", name), dev, seen, usage));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CopyTree(const std::string& src, const std::string& dst) {
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) return LastErrno(absl::StrCat("stat ", src));
  TreeCopier copier(src, dst);
  GANTRY_RETURN_IF_ERROR(copier.CopyDir("", st.st_dev));
  if (::chown(dst.c_str(), st.st_uid, st.st_gid) != 0 ||
      ::chmod(dst.c_str(), st.st_mode & 07777) != 0) {
    return LastErrno(absl::StrCat("copy owner and mode to ", dst));
  }
  GANTRY_RETURN_IF_ERROR(CopyXattrs(src, dst, dst));
  copier.AddDirTimes(dst, st);
  return copier.FinishDirTimes();
}

absl::StatusOr<Usage> DiskUsage(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return LastErrno(absl::StrCat("stat ", path));
  Usage usage;
  std::set<InodeKey> seen;
  GANTRY_RETURN_IF_ERROR(AddUsage(path, st.st_dev, seen, usage));
  return usage;
}

}  // namespace gantry::contd::snapshots
