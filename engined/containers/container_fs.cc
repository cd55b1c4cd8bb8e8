#include "engined/containers/container_fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/path_in_root.h"
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

absl::Status ArchiveError(struct archive* a, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", archive_error_string(a)));
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
  // Walks the resolved object through its /proc/self/fd link, and names
  // the entries after the path's last element.
  const std::string disk_root = FdPath(target->get());
  const std::string base = BaseName(path);
  struct WriteState {
    const std::function<absl::Status(absl::string_view)>* write;
    absl::Status status;
  } state{&write, absl::OkStatus()};
  std::unique_ptr<struct archive, int (*)(struct archive*)> out(archive_write_new(),
                                                                archive_write_free);
  archive_write_set_format_pax_restricted(out.get());
  archive_write_set_bytes_in_last_block(out.get(), 1);
  if (archive_write_open(
          out.get(), &state, nullptr,
          [](struct archive*, void* data, const void* buffer, size_t size) -> la_ssize_t {
            auto* s = static_cast<WriteState*>(data);
            s->status = (*s->write)(absl::string_view(static_cast<const char*>(buffer), size));
            return s->status.ok() ? static_cast<la_ssize_t>(size) : -1;
          },
          nullptr) != ARCHIVE_OK) {
    return ArchiveError(out.get(), "tar");
  }
  struct stat st {};
  if (::fstat(target->get(), &st) != 0) return LastErrno(absl::StrCat("stat ", path));
  if (S_ISLNK(st.st_mode)) {
    // The link itself, as docker cp copies it: following it could lead
    // out of the container.
    char link[4096];
    const ssize_t n = ::readlinkat(target->get(), "", link, sizeof(link) - 1);
    if (n < 0) return LastErrno(absl::StrCat("readlink ", path));
    link[n] = '\0';
    std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> entry(
        archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), base.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFLNK);
    archive_entry_set_perm(entry.get(), 0777);
    archive_entry_set_symlink(entry.get(), link);
    archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (archive_write_header(out.get(), entry.get()) != ARCHIVE_OK ||
        archive_write_close(out.get()) != ARCHIVE_OK) {
      return state.status.ok() ? ArchiveError(out.get(), path) : state.status;
    }
    return absl::OkStatus();
  }
  std::unique_ptr<struct archive, int (*)(struct archive*)> disk(archive_read_disk_new(),
                                                                 archive_read_free);
  // The root (our /proc/self/fd link to the resolved object) is followed,
  // links below it are archived as links, never followed.
  archive_read_disk_set_symlink_hybrid(disk.get());
  archive_read_disk_set_standard_lookup(disk.get());
  if (archive_read_disk_open(disk.get(), disk_root.c_str()) != ARCHIVE_OK) {
    return ArchiveError(disk.get(), path);
  }
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    struct archive_entry* entry = archive_entry_new();
    const int r = archive_read_next_header2(disk.get(), entry);
    if (r == ARCHIVE_EOF) {
      archive_entry_free(entry);
      break;
    }
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      archive_entry_free(entry);
      return ArchiveError(disk.get(), path);
    }
    archive_read_disk_descend(disk.get());
    const std::string name = archive_entry_pathname(entry);
    absl::string_view rest = name;
    absl::ConsumePrefix(&rest, disk_root);
    archive_entry_set_pathname(entry, absl::StrCat(base, rest).c_str());
    if (archive_write_header(out.get(), entry) != ARCHIVE_OK) {
      archive_entry_free(entry);
      return state.status.ok() ? ArchiveError(out.get(), name) : state.status;
    }
    if (archive_entry_filetype(entry) == AE_IFREG && archive_entry_size(entry) > 0) {
      // Below the root nothing is followed; the root is our own
      // /proc/self/fd link to the object resolved in the container.
      const bool is_root = disk_root == archive_entry_sourcepath(entry);
      UniqueFd file(::open(archive_entry_sourcepath(entry),
                           O_RDONLY | O_CLOEXEC | (is_root ? 0 : O_NOFOLLOW)));
      if (!file) {
        archive_entry_free(entry);
        return LastErrno(absl::StrCat("open ", name));
      }
      for (;;) {
        const ssize_t n = ::read(file.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (archive_write_data(out.get(), buffer.data(), static_cast<size_t>(n)) < 0) {
          archive_entry_free(entry);
          return state.status.ok() ? ArchiveError(out.get(), name) : state.status;
        }
      }
    }
    archive_entry_free(entry);
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) {
    return state.status.ok() ? ArchiveError(out.get(), "tar") : state.status;
  }
  return absl::OkStatus();
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
