#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "contd/content/content_store.h"
#include "contd/content/ingest.h"
#include "contd/timestamps.h"

namespace gantry::contd::content {

ContentWriter::~ContentWriter() {
  if (!finished_) (void)WriteIngestTime(dir_, "updatedat", updated_at_);
  store_.Unlock(dir_);
}

absl::Status ContentWriter::Open(int64_t expected_size, const std::string& expected_digest) {
  absl::StatusOr<IngestRecord> existing = ReadIngest(dir_);
  if (existing.ok()) return Resume(expected_size, expected_digest);
  // Absent, or half-made by a crash before `ref` was written: start afresh.
  GANTRY_RETURN_IF_ERROR(RemoveTree(dir_));
  total_ = expected_size;
  expected_ = expected_digest;
  return Create();
}

absl::Status ContentWriter::Create() {
  if (::mkdir(dir_.c_str(), 0700) != 0) return LastErrno(absl::StrCat("mkdir ", dir_));
  started_at_ = updated_at_ = Now();
  const std::string data = absl::StrCat(dir_, "/data");
  data_.Reset(::open(data.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!data_.valid()) return LastErrno(absl::StrCat("create ", data));
  GANTRY_RETURN_IF_ERROR(WriteIngestFile(dir_, "total", absl::StrCat(total_)));
  GANTRY_RETURN_IF_ERROR(WriteIngestFile(dir_, "expected", expected_));
  GANTRY_RETURN_IF_ERROR(WriteIngestTime(dir_, "startedat", started_at_));
  GANTRY_RETURN_IF_ERROR(WriteIngestTime(dir_, "updatedat", updated_at_));
  // Last: an ingest directory with a `ref` file is complete.
  return WriteIngestFile(dir_, "ref", IngestKey(ns_, ref_));
}

absl::Status ContentWriter::Resume(int64_t expected_size, const std::string& expected_digest) {
  GANTRY_ASSIGN_OR_RETURN(IngestRecord record, ReadIngest(dir_));
  total_ = record.status.total();
  expected_ = record.status.expected();
  started_at_ = record.status.started_at();
  updated_at_ = record.status.updated_at();
  if (expected_size > 0 && total_ > 0 && expected_size != total_) {
    return absl::FailedPreconditionError(
        absl::StrCat("expected size ", expected_size, " differs from the ingest's ", total_));
  }
  if (!expected_digest.empty() && !expected_.empty() && expected_digest != expected_) {
    return absl::FailedPreconditionError(absl::StrCat("expected digest ", expected_digest,
                                                      " differs from the ingest's ", expected_));
  }
  if (expected_size > 0 && total_ == 0) {
    total_ = expected_size;
    GANTRY_RETURN_IF_ERROR(WriteIngestFile(dir_, "total", absl::StrCat(total_)));
  }
  if (!expected_digest.empty() && expected_.empty()) {
    expected_ = expected_digest;
    GANTRY_RETURN_IF_ERROR(WriteIngestFile(dir_, "expected", expected_));
  }
  const std::string data = absl::StrCat(dir_, "/data");
  data_.Reset(::open(data.c_str(), O_RDWR | O_CLOEXEC));
  if (!data_.valid()) return LastErrno(absl::StrCat("open ", data));
  // The hash state is not kept on disk; the bytes are, so hash them again.
  std::string buffer(1 << 20, '\0');
  while (true) {
    const ssize_t n = ::read(data_.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrno(absl::StrCat("read ", data));
    if (n == 0) break;
    hash_->Update(absl::string_view(buffer.data(), static_cast<size_t>(n)));
    offset_ += n;
  }
  return absl::OkStatus();
}

v1::ContentStatus ContentWriter::Status() const {
  v1::ContentStatus status;
  status.set_ref(ref_);
  status.set_offset(offset_);
  status.set_total(total_);
  status.set_expected(expected_);
  *status.mutable_started_at() = started_at_;
  *status.mutable_updated_at() = updated_at_;
  return status;
}

absl::Status ContentWriter::Write(absl::string_view data) {
  if (finished_) return absl::FailedPreconditionError(absl::StrCat("ingest ", ref_, ": finished"));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(data_.get(), data.data() + done, data.size() - done,
                               static_cast<off_t>(offset_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      // What did reach the file is not hashed; drop it so a resume agrees.
      (void)::ftruncate(data_.get(), static_cast<off_t>(offset_));
      return LastErrno(absl::StrCat("ingest ", ref_, ": write"));
    }
    done += static_cast<size_t>(n);
  }
  hash_->Update(data);
  offset_ += static_cast<int64_t>(data.size());
  updated_at_ = Now();
  return absl::OkStatus();
}

absl::Status ContentWriter::ReadWritten(
    const std::function<absl::Status(absl::string_view)>& fn) const {
  std::string buffer(1 << 20, '\0');
  int64_t at = 0;
  while (at < offset_) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(offset_ - at, buffer.size()));
    const ssize_t n = ::pread(data_.get(), buffer.data(), want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrno(absl::StrCat("ingest ", ref_, ": read"));
    if (n == 0) {
      return absl::DataLossError(
          absl::StrCat("ingest ", ref_, ": data ends at ", at, " bytes, expected ", offset_));
    }
    GANTRY_RETURN_IF_ERROR(fn(absl::string_view(buffer.data(), static_cast<size_t>(n))));
    at += n;
  }
  return absl::OkStatus();
}

absl::Status ContentWriter::Truncate(int64_t size) {
  if (finished_) return absl::FailedPreconditionError(absl::StrCat("ingest ", ref_, ": finished"));
  if (size == offset_) return absl::OkStatus();
  if (size != 0) {
    return absl::InvalidArgumentError(absl::StrCat("ingest ", ref_, ": cannot truncate to ", size,
                                                   " bytes, only to 0 or ", offset_));
  }
  if (::ftruncate(data_.get(), 0) != 0) {
    return LastErrno(absl::StrCat("ingest ", ref_, ": truncate"));
  }
  hash_ = std::make_unique<Sha256>();
  offset_ = 0;
  updated_at_ = Now();
  return absl::OkStatus();
}

absl::Status ContentWriter::Discard() {
  finished_ = true;
  data_.Reset();
  return RemoveTree(dir_);
}

absl::Status ContentWriter::Commit(int64_t size, const std::string& digest,
                                   const metadata::StringMap& labels) {
  if (finished_) return absl::FailedPreconditionError(absl::StrCat("ingest ", ref_, ": finished"));
  GANTRY_RETURN_IF_ERROR(metadata::ValidateLabels("labels", labels));
  const std::string want_digest = digest.empty() ? expected_ : digest;
  if (!want_digest.empty()) {
    GANTRY_RETURN_IF_ERROR(Annotate(Digest::Parse(want_digest).status(), "commit digest"));
  }
  const int64_t want_size = size > 0 ? size : total_;
  if (want_size > 0 && want_size != offset_) {
    (void)Discard();
    return absl::FailedPreconditionError(absl::StrCat("ingest ", ref_, ": unexpected commit size ",
                                                      offset_, ", expected ", want_size));
  }
  const Digest actual = *Digest::Parse(absl::StrCat("sha256:", hash_->FinishHex()));
  if (!want_digest.empty() && want_digest != actual.str()) {
    (void)Discard();
    return absl::FailedPreconditionError(absl::StrCat(
        "ingest ", ref_, ": unexpected commit digest ", actual.str(), ", expected ", want_digest));
  }
  digest_ = actual.str();
  if (::fsync(data_.get()) != 0 || ::fchmod(data_.get(), 0444) != 0) {
    absl::Status failed = LastErrno(absl::StrCat("ingest ", ref_, ": sync data"));
    (void)Discard();
    return failed;
  }
  absl::Status committed =
      store_.CommitBlob(ns_, absl::StrCat(dir_, "/data"), actual, offset_, labels);
  GANTRY_RETURN_IF_ERROR(Discard());
  return committed;
}

absl::Status ContentWriter::Abort() {
  if (finished_) return absl::FailedPreconditionError(absl::StrCat("ingest ", ref_, ": finished"));
  return Discard();
}

}  // namespace gantry::contd::content
