// Builds image layers (tar streams, optionally gzip- or zstd-compressed) in
// memory with libarchive, for unpack tests.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "common/unique_fd.h"

namespace gantry::testing {

enum class Compression { kNone, kGzip, kZstd };

class LayerTar {
 public:
  explicit LayerTar(Compression compression = Compression::kNone) : archive_(archive_write_new()) {
    archive_write_set_format_pax_restricted(archive_);
    if (compression == Compression::kGzip) REQUIRE(archive_write_add_filter_gzip(archive_) == 0);
    if (compression == Compression::kZstd) REQUIRE(archive_write_add_filter_zstd(archive_) == 0);
    archive_write_set_bytes_in_last_block(archive_, 1);
    REQUIRE(archive_write_open(archive_, &bytes_, nullptr, &Append, nullptr) == ARCHIVE_OK);
  }
  LayerTar(const LayerTar&) = delete;
  LayerTar& operator=(const LayerTar&) = delete;
  ~LayerTar() {
    if (archive_ != nullptr) archive_write_free(archive_);
  }

  LayerTar& Dir(const std::string& path, mode_t mode = 0755, time_t mtime = 1000000) {
    return Add(path, AE_IFDIR, mode, "", "", "", 0, 0, mtime);
  }
  LayerTar& File(const std::string& path, const std::string& content, mode_t mode = 0644,
                 uid_t uid = 0, gid_t gid = 0) {
    return Add(path, AE_IFREG, mode, content, "", "", uid, gid, 1000000);
  }
  LayerTar& Symlink(const std::string& path, const std::string& target) {
    return Add(path, AE_IFLNK, 0777, "", target, "", 0, 0, 1000000);
  }
  LayerTar& Hardlink(const std::string& path, const std::string& target) {
    return Add(path, AE_IFREG, 0644, "", "", target, 0, 0, 1000000);
  }
  LayerTar& CharDevice(const std::string& path, dev_t rdev) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, AE_IFCHR);
    archive_entry_set_perm(e, 0666);
    archive_entry_set_rdev(e, rdev);
    REQUIRE(archive_write_header(archive_, e) == ARCHIVE_OK);
    archive_entry_free(e);
    return *this;
  }
  LayerTar& Fifo(const std::string& path) { return Add(path, AE_IFIFO, 0600, "", "", "", 0, 0, 1); }
  LayerTar& FileWithXattr(const std::string& path, const std::string& content,
                          const std::string& xattr, const std::string& value) {
    xattr_name_ = xattr;
    xattr_value_ = value;
    Add(path, AE_IFREG, 0644, content, "", "", 0, 0, 1000000);
    xattr_name_.clear();
    return *this;
  }

  // The finished stream.
  std::string Bytes() {
    REQUIRE(archive_write_close(archive_) == ARCHIVE_OK);
    archive_write_free(archive_);
    archive_ = nullptr;
    return bytes_;
  }

  // The finished stream in a memfd, at offset 0.
  UniqueFd Fd() {
    const std::string bytes = Bytes();
    UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
    REQUIRE(fd.valid());
    REQUIRE(::write(fd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
    return fd;
  }

 private:
  static la_ssize_t Append(archive*, void* opaque, const void* data, size_t size) {
    static_cast<std::string*>(opaque)->append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
  }

  LayerTar& Add(const std::string& path, unsigned type, mode_t mode, const std::string& content,
                const std::string& symlink, const std::string& hardlink, uid_t uid, gid_t gid,
                time_t mtime) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_entry_set_mtime(e, mtime, 0);
    if (!symlink.empty()) archive_entry_set_symlink(e, symlink.c_str());
    if (!hardlink.empty()) archive_entry_set_hardlink(e, hardlink.c_str());
    if (!xattr_name_.empty()) {
      archive_entry_xattr_add_entry(e, xattr_name_.c_str(), xattr_value_.data(),
                                    xattr_value_.size());
    }
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    REQUIRE(archive_write_header(archive_, e) == ARCHIVE_OK);
    if (!content.empty()) {
      REQUIRE(archive_write_data(archive_, content.data(), content.size()) ==
              static_cast<la_ssize_t>(content.size()));
    }
    archive_entry_free(e);
    return *this;
  }

  archive* archive_;
  std::string bytes_;
  std::string xattr_name_;
  std::string xattr_value_;
};

}  // namespace gantry::testing
