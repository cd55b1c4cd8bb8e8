// The registry client's only contact with storage: it writes downloaded
// blobs into a BlobSink and reads uploads from a BlobSource. The content
// store implements both over its ingests; the file versions here serve tests
// and tools.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace gantry::registry {

class BlobSink {
 public:
  virtual ~BlobSink() = default;
  // Bytes already held from an earlier, interrupted download: the fetch asks
  // the registry for the rest only (Range: bytes=offset-).
  virtual int64_t offset() const = 0;
  // Feeds the bytes [0, offset()) already held to `fn`, so that the digest
  // is verified over the whole blob after a resumed download.
  virtual absl::Status ReadExisting(const std::function<absl::Status(absl::string_view)>& fn) = 0;
  // Appends the next bytes of the blob.
  virtual absl::Status Write(absl::string_view data) = 0;
};

class BlobSource {
 public:
  virtual ~BlobSource() = default;
  virtual int64_t size() const = 0;
  // Reads up to `n` bytes at `offset` (pread-like, so uploads can be retried
  // and cut into chunks); 0 only at the end.
  virtual absl::StatusOr<size_t> ReadAt(int64_t offset, char* buf, size_t n) = 0;
};

// Appends to a file, resuming after what it already holds.
class FileBlobSink : public BlobSink {
 public:
  static absl::StatusOr<FileBlobSink> Open(const std::string& path);
  int64_t offset() const override { return offset_; }
  absl::Status ReadExisting(const std::function<absl::Status(absl::string_view)>& fn) override;
  absl::Status Write(absl::string_view data) override;

 private:
  FileBlobSink(std::string path, UniqueFd fd, int64_t offset)
      : path_(std::move(path)), fd_(std::move(fd)), offset_(offset) {}
  std::string path_;
  UniqueFd fd_;
  int64_t offset_;
};

class FileBlobSource : public BlobSource {
 public:
  static absl::StatusOr<FileBlobSource> Open(const std::string& path);
  int64_t size() const override { return size_; }
  absl::StatusOr<size_t> ReadAt(int64_t offset, char* buf, size_t n) override;

 private:
  FileBlobSource(std::string path, UniqueFd fd, int64_t size)
      : path_(std::move(path)), fd_(std::move(fd)), size_(size) {}
  std::string path_;
  UniqueFd fd_;
  int64_t size_;
};

// Small blobs held in memory (configs, manifests).
class StringBlobSource : public BlobSource {
 public:
  explicit StringBlobSource(std::string data) : data_(std::move(data)) {}
  int64_t size() const override { return static_cast<int64_t>(data_.size()); }
  absl::StatusOr<size_t> ReadAt(int64_t offset, char* buf, size_t n) override;

 private:
  std::string data_;
};

}  // namespace gantry::registry
