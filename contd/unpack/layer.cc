#include "contd/unpack/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <dirent.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/path_in_root.h"
#include "common/unique_fd.h"

namespace gantry::contd::unpack {
namespace {

constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kOpaqueWhiteout[] = ".wh..wh..opq";
constexpr char kOverlayXattrPrefix[] = "trusted.overlay.";
constexpr size_t kReadBlock = 128 * 1024;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

absl::Status EntryError(absl::string_view entry, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("layer entry \"", entry, "\": ", why));
}

// The entry's path relative to the layer root, without "." components;
// absolute paths and ".." are refused.
absl::StatusOr<std::string> CleanPath(absl::string_view raw, absl::string_view entry) {
  if (absl::StartsWith(raw, "/")) return EntryError(entry, "absolute path refused");
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(raw, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") return EntryError(entry, "path with \"..\" refused");
    parts.push_back(part);
  }
  return absl::StrJoin(parts, "/");
}

// The layer's decompressed bytes, hashed for the diff ID. A thread of its
// own decompresses and hashes a few chunks ahead while the tar reader parses
// and writes, so the two halves of an unpack run on two cores.
class HashingSource {
 public:
  explicit HashingSource(archive* decompressed) : decompressed_(decompressed) {
    producer_ = std::thread([this] { Produce(); });
  }
  ~HashingSource() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    changed_.notify_all();
    if (producer_.joinable()) producer_.join();
  }
  HashingSource(const HashingSource&) = delete;
  HashingSource& operator=(const HashingSource&) = delete;

  // The next chunk (valid until the next call): its size, 0 at the end,
  // -1 after a decompression error (error()).
  la_ssize_t Next(const void** out) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return !chunks_.empty() || done_; });
    if (chunks_.empty()) return failed_ ? -1 : 0;
    current_ = std::move(chunks_.front());
    chunks_.pop_front();
    changed_.notify_all();
    *out = current_.data();
    return static_cast<la_ssize_t>(current_.size());
  }
  const std::string& error() const { return error_; }
  // Once Next has returned 0: the digest of every byte.
  std::string FinishHex() {
    if (producer_.joinable()) producer_.join();
    return hash_.FinishHex();
  }

 private:
  static constexpr size_t kChunksAhead = 16;

  void Produce() {
    for (;;) {
      std::vector<char> chunk(kReadBlock);
      const la_ssize_t n = archive_read_data(decompressed_, chunk.data(), chunk.size());
      if (n > 0) {
        chunk.resize(static_cast<size_t>(n));
        hash_.Update(absl::string_view(chunk.data(), chunk.size()));
      }
      std::unique_lock lock(mu_);
      if (n <= 0) {
        if (n < 0) {
          const char* why = archive_error_string(decompressed_);
          error_ = why != nullptr ? why : "decompression failed";
          failed_ = true;
        }
        done_ = true;
        changed_.notify_all();
        return;
      }
      changed_.wait(lock, [this] { return closed_ || chunks_.size() < kChunksAhead; });
      if (closed_) return;
      chunks_.push_back(std::move(chunk));
      changed_.notify_all();
    }
  }

  archive* const decompressed_;
  Sha256 hash_;  // the producer's until it is joined
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::vector<char>> chunks_;
  std::vector<char> current_;
  std::string error_;
  bool done_ = false;
  bool failed_ = false;
  bool closed_ = false;
  std::thread producer_;  // last: starts once the rest is made
};

la_ssize_t ReadDecompressed(archive* tar, void* opaque, const void** out) {
  auto* source = static_cast<HashingSource*>(opaque);
  const la_ssize_t n = source->Next(out);
  if (n < 0) archive_set_error(tar, EIO, "%s", source->error().c_str());
  return n;
}

class LayerWriter {
 public:
  LayerWriter(UniqueFd root, const ApplyOptions& options)
      : root_(std::move(root)), options_(options) {}

  absl::Status Apply(archive* tar, archive_entry* entry) {
    const std::string raw = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    GANTRY_ASSIGN_OR_RETURN(const std::string path, CleanPath(raw, raw));
    if (path.empty()) return absl::OkStatus();  // the root itself
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    GANTRY_ASSIGN_OR_RETURN(UniqueFd parent, OpenParent(dir, raw));

    if (base == kOpaqueWhiteout) return ApplyOpaque(parent.get(), dir, raw);
    if (absl::StartsWith(base, kWhiteoutPrefix)) {
      return ApplyWhiteout(parent.get(), dir, base.substr(sizeof(kWhiteoutPrefix) - 1), raw);
    }
    created_.insert(path);

    if (const char* link = archive_entry_hardlink(entry)) {
      return ApplyHardlink(parent.get(), base, link, raw);
    }
    const mode_t type = archive_entry_filetype(entry);
    switch (type) {
      case AE_IFDIR:
        GANTRY_RETURN_IF_ERROR(MakeDir(parent.get(), base, raw));
        dirs_.emplace_back(path, Times(entry));
        break;
      case AE_IFREG:
        return WriteFile(tar, entry, parent.get(), base, raw);
      case AE_IFLNK:
        GANTRY_RETURN_IF_ERROR(Replace(parent.get(), base, false, raw));
        if (::symlinkat(archive_entry_symlink(entry), parent.get(), base.c_str()) != 0) {
          return LastErrno(absl::StrCat("layer entry \"", raw, "\": symlink"));
        }
        break;
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
        GANTRY_RETURN_IF_ERROR(Replace(parent.get(), base, false, raw));
        if (::mknodat(parent.get(), base.c_str(), type | (archive_entry_perm(entry) & 07777),
                      archive_entry_rdev(entry)) != 0) {
          return LastErrno(absl::StrCat("layer entry \"", raw, "\": mknod"));
        }
        break;
      default:
        return absl::OkStatus();  // sockets and unknown types are not unpacked
    }
    GANTRY_RETURN_IF_ERROR(SetMetadataAt(parent.get(), base, entry, raw));
    if (type != AE_IFDIR) return SetTimesAt(parent.get(), base, Times(entry), raw);
    return absl::OkStatus();
  }

  // Directory times, once nothing more is created in them.
  absl::Status Finish() {
    for (const auto& [path, times] : dirs_) {
      absl::StatusOr<UniqueFd> dir =
          OpenInRoot(root_.get(), path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (!dir.ok()) continue;  // replaced or deleted by a later entry
      if (::futimens(dir->get(), times.data()) != 0) {
        return LastErrno(absl::StrCat("layer entry \"", path, "\": set times"));
      }
    }
    return absl::OkStatus();
  }

 private:
  using TimePair = std::array<timespec, 2>;

  static TimePair Times(archive_entry* entry) {
    const timespec mtime{archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
    const timespec atime =
        archive_entry_atime_is_set(entry)
            ? timespec{archive_entry_atime(entry), archive_entry_atime_nsec(entry)}
            : mtime;
    return {atime, mtime};
  }

  // The entry's directory, made (0755) where missing. Symlinks on the way
  // resolve inside the root; a symlink whose target is missing is refused
  // rather than created, so that a layer cannot make one point somewhere
  // and then write through it.
  absl::StatusOr<UniqueFd> OpenParent(const std::string& dir, absl::string_view raw) {
    absl::StatusOr<UniqueFd> direct = OpenInRoot(root_.get(), dir, O_PATH | O_DIRECTORY);
    if (direct.ok() || !absl::IsNotFound(direct.status())) {
      if (!direct.ok()) {
        return EntryError(raw, absl::StrCat("parent \"", dir, "\": ", direct.status().message()));
      }
      return direct;
    }
    UniqueFd current(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
    std::string walked;
    for (absl::string_view part : absl::StrSplit(dir, '/', absl::SkipEmpty())) {
      walked = walked.empty() ? std::string(part) : absl::StrCat(walked, "/", part);
      absl::StatusOr<UniqueFd> next = OpenInRoot(root_.get(), walked, O_PATH | O_DIRECTORY);
      if (!next.ok() && absl::IsNotFound(next.status())) {
        const std::string name(part);
        if (::mkdirat(current.get(), name.c_str(), 0755) != 0) {
          if (errno == EEXIST) {
            return EntryError(
                raw, absl::StrCat("parent \"", walked, "\" is a symlink to a missing directory"));
          }
          return LastErrno(absl::StrCat("layer entry \"", raw, "\": mkdir ", walked));
        }
        next = OpenInRoot(root_.get(), walked, O_PATH | O_DIRECTORY);
      }
      if (!next.ok()) {
        return EntryError(raw, absl::StrCat("parent \"", walked, "\": ", next.status().message()));
      }
      current = std::move(*next);
    }
    return current;
  }

  // Clears the way for a new entry `name`: an existing directory stays when
  // a directory comes, anything else is removed.
  absl::Status Replace(int parent, const std::string& name, bool keep_dir, absl::string_view raw) {
    struct stat st;
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return absl::OkStatus();
      return LastErrno(absl::StrCat("layer entry \"", raw, "\": stat"));
    }
    if (S_ISDIR(st.st_mode)) {
      if (keep_dir) return absl::OkStatus();
      return RemoveTree(absl::StrCat(FdPath(parent), "/", name));
    }
    if (::unlinkat(parent, name.c_str(), 0) != 0) {
      return LastErrno(absl::StrCat("layer entry \"", raw, "\": remove existing"));
    }
    return absl::OkStatus();
  }

  absl::Status MakeDir(int parent, const std::string& name, absl::string_view raw) {
    GANTRY_RETURN_IF_ERROR(Replace(parent, name, true, raw));
    if (::mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST) {
      return LastErrno(absl::StrCat("layer entry \"", raw, "\": mkdir"));
    }
    return absl::OkStatus();
  }

  absl::Status WriteFile(archive* tar, archive_entry* entry, int parent, const std::string& name,
                         absl::string_view raw) {
    GANTRY_RETURN_IF_ERROR(Replace(parent, name, false, raw));
    UniqueFd file(
        ::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file) return LastErrno(absl::StrCat("layer entry \"", raw, "\": create"));
    const void* block;
    size_t size;
    la_int64_t offset;
    while (true) {
      const int rc = archive_read_data_block(tar, &block, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK) {
        return absl::DataLossError(
            absl::StrCat("layer entry \"", raw, "\": read: ", archive_error_string(tar)));
      }
      const char* data = static_cast<const char*>(block);
      while (size > 0) {
        const ssize_t n = ::pwrite(file.get(), data, size, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return LastErrno(absl::StrCat("layer entry \"", raw, "\": write"));
        data += n;
        size -= static_cast<size_t>(n);
        offset += n;
      }
    }
    // Sparse files end in a hole that no block covers.
    if (::ftruncate(file.get(), archive_entry_size(entry)) != 0) {
      return LastErrno(absl::StrCat("layer entry \"", raw, "\": truncate"));
    }
    GANTRY_RETURN_IF_ERROR(SetMetadataAt(parent, name, entry, raw));
    const TimePair times = Times(entry);
    if (::futimens(file.get(), times.data()) != 0) {
      return LastErrno(absl::StrCat("layer entry \"", raw, "\": set times"));
    }
    return absl::OkStatus();
  }

  absl::Status ApplyHardlink(int parent, const std::string& name, const char* link,
                             absl::string_view raw) {
    absl::StatusOr<std::string> target = CleanPath(link, raw);
    if (!target.ok()) {
      return EntryError(raw, absl::StrCat("hardlink to \"", link, "\" outside the layer refused"));
    }
    absl::StatusOr<UniqueFd> source = OpenInRoot(root_.get(), *target, O_PATH | O_NOFOLLOW);
    if (!source.ok()) {
      return EntryError(
          raw, absl::StrCat("hardlink target \"", link, "\": ", source.status().message()));
    }
    GANTRY_RETURN_IF_ERROR(Replace(parent, name, false, raw));
    if (::linkat(source->get(), "", parent, name.c_str(), AT_EMPTY_PATH) != 0) {
      return LastErrno(absl::StrCat("layer entry \"", raw, "\": link to \"", link, "\""));
    }
    return absl::OkStatus();
  }

  absl::Status ApplyWhiteout(int parent, const std::string& dir, const std::string& name,
                             absl::string_view raw) {
    if (name.empty() || name == "." || name == "..") return EntryError(raw, "invalid whiteout");
    GANTRY_RETURN_IF_ERROR(Replace(parent, name, false, raw));
    if (options_.whiteouts == Whiteouts::kOverlay &&
        ::mknodat(parent, name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
      return LastErrno(absl::StrCat("layer entry \"", raw, "\": make whiteout"));
    }
    created_.erase(dir.empty() ? name : absl::StrCat(dir, "/", name));
    return absl::OkStatus();
  }

  absl::Status ApplyOpaque(int parent, const std::string& dir, absl::string_view raw) {
    UniqueFd fd(::openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return LastErrno(absl::StrCat("layer entry \"", raw, "\": open directory"));
    if (options_.whiteouts == Whiteouts::kOverlay) {
      if (::fsetxattr(fd.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
        return LastErrno(absl::StrCat("layer entry \"", raw, "\": mark directory opaque"));
      }
      return absl::OkStatus();
    }
    // Empty the directory of what earlier layers put there; this layer's
    // own entries stay.
    DIR* d = ::fdopendir(fd.Release());
    if (d == nullptr) return LastErrno(absl::StrCat("layer entry \"", raw, "\": list directory"));
    std::vector<std::string> doomed;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (created_.count(dir.empty() ? name : absl::StrCat(dir, "/", name)) == 0) {
        doomed.push_back(name);
      }
    }
    ::closedir(d);
    for (const std::string& name : doomed) {
      GANTRY_RETURN_IF_ERROR(Replace(parent, name, false, raw));
    }
    return absl::OkStatus();
  }

  absl::Status SetMetadataAt(int parent, const std::string& name, archive_entry* entry,
                             absl::string_view raw) {
    if (::fchownat(parent, name.c_str(), static_cast<uid_t>(archive_entry_uid(entry)),
                   static_cast<gid_t>(archive_entry_gid(entry)), AT_SYMLINK_NOFOLLOW) != 0) {
      return LastErrno(absl::StrCat("layer entry \"", raw, "\": chown"));
    }
    const bool symlink = archive_entry_filetype(entry) == AE_IFLNK;
    // After chown, which clears the set-id bits.
    if (!symlink && ::fchmodat(parent, name.c_str(), archive_entry_perm(entry) & 07777, 0) != 0) {
      return LastErrno(absl::StrCat("layer entry \"", raw, "\": chmod"));
    }
    const std::string path = absl::StrCat(FdPath(parent), "/", name);
    archive_entry_xattr_reset(entry);
    const char* xname;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(entry, &xname, &value, &size) == ARCHIVE_OK) {
      // A layer may not forge overlayfs' own metadata (opaque, redirect).
      if (absl::StartsWith(xname, kOverlayXattrPrefix)) continue;
      if (::lsetxattr(path.c_str(), xname, value, size, 0) != 0) {
        return LastErrno(absl::StrCat("layer entry \"", raw, "\": set xattr ", xname));
      }
    }
    return absl::OkStatus();
  }

  static absl::Status SetTimesAt(int parent, const std::string& name, const TimePair& times,
                                 absl::string_view raw) {
    if (::utimensat(parent, name.c_str(), times.data(), AT_SYMLINK_NOFOLLOW) != 0) {
      return LastErrno(absl::StrCat("layer entry \"", raw, "\": set times"));
    }
    return absl::OkStatus();
  }

  UniqueFd root_;
  ApplyOptions options_;
  // Paths this layer created, which its own opaque whiteouts keep.
  std::set<std::string> created_;
  std::vector<std::pair<std::string, TimePair>> dirs_;
};

}  // namespace

absl::StatusOr<Digest> ApplyLayer(int layer_fd, const std::string& target_dir,
                                  const ApplyOptions& options) {
  UniqueFd root(::open(target_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return LastErrno(absl::StrCat("open ", target_dir));

  // Two readers: one only decompresses (gzip, zstd or none, detected), so
  // the tar reader's input can be hashed for the diff ID.
  ArchivePtr decompressed(archive_read_new());
  archive_read_support_filter_all(decompressed.get());
  archive_read_support_format_raw(decompressed.get());
  archive_read_support_format_empty(decompressed.get());
  if (archive_read_open_fd(decompressed.get(), layer_fd, kReadBlock) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("layer: ", archive_error_string(decompressed.get())));
  }
  archive_entry* raw_entry;
  const int raw = archive_read_next_header(decompressed.get(), &raw_entry);
  if (raw == ARCHIVE_EOF) return Digest::FromBytes("");
  if (raw != ARCHIVE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("layer: ", archive_error_string(decompressed.get())));
  }

  HashingSource source(decompressed.get());
  ArchivePtr tar(archive_read_new());
  archive_read_support_format_tar(tar.get());
  if (archive_read_open(tar.get(), &source, nullptr, ReadDecompressed, nullptr) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("layer: ", archive_error_string(tar.get())));
  }
  LayerWriter writer(std::move(root), options);
  while (true) {
    archive_entry* entry;
    const int rc = archive_read_next_header(tar.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer: not a valid tar: ", archive_error_string(tar.get())));
    }
    GANTRY_RETURN_IF_ERROR(writer.Apply(tar.get(), entry));
  }
  GANTRY_RETURN_IF_ERROR(writer.Finish());
  // The diff ID covers the whole stream, padding after the tar's end too.
  const void* ignored;
  while (true) {
    const la_ssize_t n = ReadDecompressed(tar.get(), &source, &ignored);
    if (n < 0) return absl::DataLossError(absl::StrCat("layer: ", source.error()));
    if (n == 0) break;
  }
  return Digest::Parse(absl::StrCat("sha256:", source.FinishHex()));
}

}  // namespace gantry::contd::unpack
