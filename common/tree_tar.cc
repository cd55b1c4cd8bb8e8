#include "common/tree_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/unique_fd.h"

namespace gantry {
namespace {

absl::Status ArchiveError(struct archive* a, absl::string_view what) {
  const char* text = archive_error_string(a);
  return absl::InternalError(absl::StrCat(what, ": ", text != nullptr ? text : "archive error"));
}

struct EntryDeleter {
  void operator()(struct archive_entry* entry) const { archive_entry_free(entry); }
};

// A pax tar written through a caller's function.
class TarWriter {
 public:
  explicit TarWriter(const std::function<absl::Status(absl::string_view)>& write)
      : write_(write), out_(archive_write_new(), archive_write_free) {
    archive_write_set_format_pax_restricted(out_.get());
    archive_write_set_bytes_in_last_block(out_.get(), 1);
  }
  absl::Status Open() {
    if (archive_write_open(
            out_.get(), this, nullptr,
            [](struct archive*, void* data, const void* buffer, size_t size) -> la_ssize_t {
              auto* self = static_cast<TarWriter*>(data);
              self->status_ =
                  self->write_(absl::string_view(static_cast<const char*>(buffer), size));
              return self->status_.ok() ? static_cast<la_ssize_t>(size) : -1;
            },
            nullptr) != ARCHIVE_OK) {
      return ArchiveError(out_.get(), "tar");
    }
    return absl::OkStatus();
  }
  struct archive* get() {
    return out_.get();
  }
  // The writer's error when it was the write that failed, else libarchive's.
  absl::Status Failed(absl::string_view what) {
    return status_.ok() ? ArchiveError(out_.get(), what) : status_;
  }
  absl::Status Close() {
    return archive_write_close(out_.get()) == ARCHIVE_OK ? absl::OkStatus() : Failed("tar");
  }

 private:
  const std::function<absl::Status(absl::string_view)>& write_;
  std::unique_ptr<struct archive, int (*)(struct archive*)> out_;
  absl::Status status_;
};

}  // namespace

absl::Status WriteTreeTar(const std::string& root, const std::string& top,
                          const std::function<absl::Status(absl::string_view)>& write,
                          const TreeTarOptions& options) {
  TarWriter out(write);
  GANTRY_RETURN_IF_ERROR(out.Open());
  std::unique_ptr<struct archive, int (*)(struct archive*)> disk(archive_read_disk_new(),
                                                                 archive_read_free);
  if (options.follow_root) {
    archive_read_disk_set_symlink_hybrid(disk.get());
  } else {
    archive_read_disk_set_symlink_physical(disk.get());
  }
  archive_read_disk_set_standard_lookup(disk.get());
  if (archive_read_disk_open(disk.get(), root.c_str()) != ARCHIVE_OK) {
    return ArchiveError(disk.get(), root);
  }
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    std::unique_ptr<struct archive_entry, EntryDeleter> entry(archive_entry_new());
    const int r = archive_read_next_header2(disk.get(), entry.get());
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return ArchiveError(disk.get(), root);
    archive_read_disk_descend(disk.get());
    const std::string source = archive_entry_sourcepath(entry.get());
    absl::string_view rest = source;
    absl::ConsumePrefix(&rest, root);
    archive_entry_set_pathname(entry.get(), absl::StrCat(top, rest).c_str());
    if (archive_write_header(out.get(), entry.get()) != ARCHIVE_OK) return out.Failed(source);
    if (archive_entry_filetype(entry.get()) != AE_IFREG || archive_entry_size(entry.get()) == 0) {
      continue;
    }
    const bool is_root = source == root;
    UniqueFd file(::open(source.c_str(), O_RDONLY | O_CLOEXEC | (is_root ? 0 : O_NOFOLLOW)));
    if (!file) return LastErrno(absl::StrCat("open ", source));
    for (;;) {
      const ssize_t n = ::read(file.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LastErrno(absl::StrCat("read ", source));
      if (n == 0) break;
      if (archive_write_data(out.get(), buffer.data(), static_cast<size_t>(n)) < 0) {
        return out.Failed(source);
      }
    }
  }
  return out.Close();
}

absl::Status WriteLinkTar(const std::string& top, const std::string& target,
                          const struct timespec& mtime,
                          const std::function<absl::Status(absl::string_view)>& write) {
  TarWriter out(write);
  GANTRY_RETURN_IF_ERROR(out.Open());
  std::unique_ptr<struct archive_entry, EntryDeleter> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), top.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFLNK);
  archive_entry_set_perm(entry.get(), 0777);
  archive_entry_set_symlink(entry.get(), target.c_str());
  archive_entry_set_mtime(entry.get(), mtime.tv_sec, mtime.tv_nsec);
  if (archive_write_header(out.get(), entry.get()) != ARCHIVE_OK) return out.Failed(top);
  return out.Close();
}

}  // namespace gantry
