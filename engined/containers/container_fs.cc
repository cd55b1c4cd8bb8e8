#include "engined/containers/container_fs.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/path_in_root.h"
#include "common/tree_tar.h"
#include "contd/unpack/layer.h"
#include "engined/containers/container.h"

namespace gantry::engined {
namespace {

// Go's os.FileMode bits for the type, as the docker CLI decodes them.
constexpr uint32_t kGoModeDir = 1u << 31;
constexpr uint32_t kGoModeSymlink = 1u << 27;

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

std::string BaseName(const std::string& path) {
  std::string trimmed(absl::StripSuffix(path, "/"));
  const size_t slash = trimmed.rfind('/');
  std::string base = slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
  return base.empty() ? "/" : base;
}

}  // namespace

ContainerFs::~ContainerFs() {
  root_.Reset();
  if (!mountpoint_.empty()) {
    UnmountAll(mountpoint_);
    ::rmdir(mountpoint_.c_str());
  }
}

absl::StatusOr<nlohmann::json> ContainerFs::Stat(const std::string& path) {
  absl::StatusOr<UniqueFd> fd = OpenInRoot(root_.get(), path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (!fd.ok()) {
    return absl::NotFoundError(absl::StrCat("Could not find the file ", path, " in container"));
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return LastErrno(absl::StrCat("stat ", path));
  uint32_t mode = st.st_mode & 07777;
  std::string link_target;
  if (S_ISDIR(st.st_mode)) mode |= kGoModeDir;
  if (S_ISLNK(st.st_mode)) {
    mode |= kGoModeSymlink;
    char buffer[4096];
    const ssize_t n = ::readlinkat(fd->get(), "", buffer, sizeof(buffer));
    if (n > 0) link_target.assign(buffer, static_cast<size_t>(n));
  }
  return nlohmann::json{
      {"name", BaseName(path)},
      {"size", static_cast<int64_t>(st.st_size)},
      {"mode", mode},
      {"mtime", DockerTime(absl::TimeFromTimespec(st.st_mtim))},
      {"linkTarget", link_target},
  };
}

absl::Status ContainerFs::Archive(const std::string& path,
                                  const std::function<absl::Status(absl::string_view)>& write) {
  absl::StatusOr<UniqueFd> target = OpenInRoot(root_.get(), path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (!target.ok()) {
    return absl::NotFoundError(absl::StrCat("Could not find the file ", path, " in container"));
  }
  const std::string base = BaseName(path);
  struct stat st {};
  if (::fstat(target->get(), &st) != 0) return LastErrno(absl::StrCat("stat ", path));
  if (!S_ISLNK(st.st_mode)) {
    // Walks the resolved object through its /proc/self/fd link, and names
    // the entries after the path's last element.
    return WriteTreeTar(FdPath(target->get()), base, write);
  }
  // The link itself, as docker cp copies it: following it could lead out of
  // the container.
  char link[4096];
  const ssize_t n = ::readlinkat(target->get(), "", link, sizeof(link));
  if (n < 0) return LastErrno(absl::StrCat("readlink ", path));
  return WriteLinkTar(base, std::string(link, static_cast<size_t>(n)), st.st_mtim, write);
}

absl::Status ContainerFs::Extract(const std::string& path, absl::string_view data) {
  absl::StatusOr<UniqueFd> dir = OpenInRoot(root_.get(), path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (!dir.ok()) {
    return absl::NotFoundError(
        absl::StrCat("Could not find the file ", path, " in container (or it is no directory)"));
  }
  // ApplyLayer reads from a descriptor; the body is in memory.
  UniqueFd tar(::memfd_create("docker-cp", MFD_CLOEXEC));
  if (!tar) return LastErrno("memfd_create");
  for (absl::string_view rest = data; !rest.empty();) {
    const ssize_t n = ::write(tar.get(), rest.data(), rest.size());
    if (n < 0) return LastErrno("write the archive");
    rest.remove_prefix(static_cast<size_t>(n));
  }
  ::lseek(tar.get(), 0, SEEK_SET);
  return contd::unpack::ApplyLayer(tar.get(), FdPath(dir->get()),
                                   {.whiteouts = contd::unpack::Whiteouts::kDelete})
      .status();
}

absl::StatusOr<UniqueFd> ContainerFs::OpenDirectory(const std::string& path) {
  return OpenInRoot(root_.get(), path, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

}  // namespace gantry::engined
