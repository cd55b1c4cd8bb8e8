#include "contd/registry/blob_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::registry {
namespace {

absl::StatusOr<size_t> PreadFull(int fd, const std::string& path, int64_t offset, char* buf,
                                 size_t n) {
  while (true) {
    ssize_t r = ::pread(fd, buf, n, offset);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR) return LastErrno(absl::StrCat("read ", path));
  }
}

}  // namespace

absl::StatusOr<FileBlobSink> FileBlobSink::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) return LastErrno(absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return LastErrno(absl::StrCat("stat ", path));
  return FileBlobSink(path, std::move(fd), st.st_size);
}

absl::Status FileBlobSink::ReadExisting(const std::function<absl::Status(absl::string_view)>& fn) {
  std::vector<char> buf(1 << 16);
  for (int64_t off = 0; off < offset_;) {
    size_t want = static_cast<size_t>(std::min<int64_t>(buf.size(), offset_ - off));
    GANTRY_ASSIGN_OR_RETURN(size_t n, PreadFull(fd_.get(), path_, off, buf.data(), want));
    if (n == 0) return absl::DataLossError(absl::StrCat(path_, ": shorter than its offset"));
    GANTRY_RETURN_IF_ERROR(fn(absl::string_view(buf.data(), n)));
    off += static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status FileBlobSink::Write(absl::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::write(fd_.get(), data.data(), data.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return LastErrno(absl::StrCat("write ", path_));
    }
    data.remove_prefix(static_cast<size_t>(w));
    offset_ += w;
  }
  return absl::OkStatus();
}

absl::StatusOr<FileBlobSource> FileBlobSource::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return LastErrno(absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return LastErrno(absl::StrCat("stat ", path));
  return FileBlobSource(path, std::move(fd), st.st_size);
}

absl::StatusOr<size_t> FileBlobSource::ReadAt(int64_t offset, char* buf, size_t n) {
  return PreadFull(fd_.get(), path_, offset, buf, n);
}

absl::StatusOr<size_t> StringBlobSource::ReadAt(int64_t offset, char* buf, size_t n) {
  if (offset < 0 || offset >= size()) return 0;
  size_t count = std::min(n, data_.size() - static_cast<size_t>(offset));
  std::memcpy(buf, data_.data() + offset, count);
  return count;
}

}  // namespace gantry::registry
