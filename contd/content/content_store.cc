#include "contd/content/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "contd/content/ingest.h"
#include "contd/filters.h"
#include "contd/namespaces.h"
#include "contd/timestamps.h"

namespace gantry::contd::content {
namespace {

using google::protobuf::util::TimeUtil;

absl::Status BlobNotFound(absl::string_view ns, absl::string_view digest) {
  return absl::NotFoundError(
      absl::StrCat("content ", digest, ": not found in namespace \"", ns, "\""));
}

absl::StatusOr<Digest> ParseDigest(absl::string_view digest) {
  absl::StatusOr<Digest> parsed = Digest::Parse(digest);
  if (!parsed.ok()) return Annotate(parsed.status(), "digest");
  return parsed;
}

absl::Status SyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return LastErrno(absl::StrCat("open ", dir));
  if (::fsync(fd.get()) != 0) return LastErrno(absl::StrCat("fsync ", dir));
  return absl::OkStatus();
}

// The namespace's blobs (only `digest` when not empty), by digest.
absl::StatusOr<std::vector<v1::ContentInfo>> LoadInfos(metadata::Connection& conn,
                                                       absl::string_view ns,
                                                       absl::string_view digest) {
  GANTRY_ASSIGN_OR_RETURN(
      metadata::Statement rows,
      conn.Prepare("SELECT digest, size, created_at, updated_at FROM content_blobs "
                   "WHERE namespace = ?1 AND (?2 = '' OR digest = ?2) ORDER BY digest"));
  rows.Bind(1, ns).Bind(2, digest);
  std::vector<v1::ContentInfo> infos;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(bool row, rows.Step());
    if (!row) break;
    v1::ContentInfo& info = infos.emplace_back();
    info.set_digest(rows.ColumnText(0));
    info.set_size(rows.ColumnInt(1));
    *info.mutable_created_at() = TimeUtil::NanosecondsToTimestamp(rows.ColumnInt(2));
    *info.mutable_updated_at() = TimeUtil::NanosecondsToTimestamp(rows.ColumnInt(3));
  }
  GANTRY_ASSIGN_OR_RETURN(auto labels,
                          metadata::LoadStringMaps(conn, "content_labels", "digest", ns, digest));
  for (v1::ContentInfo& info : infos) {
    auto it = labels.find(info.digest());
    if (it != labels.end()) *info.mutable_labels() = it->second;
  }
  return infos;
}

std::optional<std::string> InfoField(const v1::ContentInfo& info,
                                     const std::vector<std::string>& path) {
  if (path.size() == 1 && path[0] == "digest") return info.digest();
  if (path.size() == 1 && path[0] == "size") return absl::StrCat(info.size());
  if (path.size() == 2 && path[0] == "labels") {
    auto it = info.labels().find(path[1]);
    if (it != info.labels().end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContentStore>> ContentStore::Open(const std::string& root,
                                                                 metadata::Database& db) {
  const std::string content = absl::StrCat(root, "/content");
  GANTRY_RETURN_IF_ERROR(MakeDirs(absl::StrCat(content, "/blobs/sha256"), 0755));
  GANTRY_RETURN_IF_ERROR(MakeDirs(absl::StrCat(content, "/ingest"), 0700));
  std::unique_ptr<ContentStore> store(new ContentStore(content, db));
  // A crash while an ingest was being created leaves a directory without
  // its `ref`: nobody can resume it, so it goes.
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> ingests, store->IngestDirs());
  for (const std::string& dir : ingests) {
    if (absl::IsNotFound(ReadIngest(dir).status())) GANTRY_RETURN_IF_ERROR(RemoveTree(dir));
  }
  return store;
}

absl::StatusOr<std::vector<std::string>> ContentStore::IngestDirs() const {
  const std::string ingest = absl::StrCat(root_, "/ingest");
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(ingest));
  std::vector<std::string> paths;
  for (const std::string& name : names) {
    if (name[0] != '.') paths.push_back(absl::StrCat(ingest, "/", name));
  }
  return paths;
}

std::string ContentStore::BlobPath(const Digest& digest) const {
  return absl::StrCat(root_, "/blobs/sha256/", digest.hex());
}

std::string ContentStore::IngestDir(absl::string_view ns, const std::string& ref) const {
  // Hashed, so that any ref (slashes, dots, length) is a safe directory name.
  return absl::StrCat(root_, "/ingest/", Sha256Hex(IngestKey(ns, ref)));
}

absl::StatusOr<std::unique_ptr<ContentWriter>> ContentStore::Writer(
    absl::string_view ns, const std::string& ref, int64_t expected_size,
    const std::string& expected_digest) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (ref.empty()) return absl::InvalidArgumentError("ref: must not be empty");
  if (expected_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ref ", ref, ": expected size ", expected_size, " is negative"));
  }
  if (!expected_digest.empty()) {
    GANTRY_ASSIGN_OR_RETURN(Digest expected, ParseDigest(expected_digest));
    GANTRY_ASSIGN_OR_RETURN(bool exists, Recorded(ns, expected));
    if (!exists) {
      GANTRY_ASSIGN_OR_RETURN(exists, Share(ns, expected));
    }
    if (exists) {
      return absl::AlreadyExistsError(
          absl::StrCat("content ", expected_digest, ": already exists in namespace \"", ns, "\""));
    }
  }
  const std::string dir = IngestDir(ns, ref);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!locked_.insert(dir).second) {
      return absl::UnavailableError(absl::StrCat("ref ", ref, ": ref locked by another writer"));
    }
  }
  // From here the writer owns the lock; its destructor releases it.
  std::unique_ptr<ContentWriter> writer(new ContentWriter(*this, std::string(ns), ref, dir));
  GANTRY_RETURN_IF_ERROR(
      Annotate(writer->Open(expected_size, expected_digest), absl::StrCat("ingest ", ref)));
  return writer;
}

void ContentStore::Unlock(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  locked_.erase(dir);
}

absl::StatusOr<bool> ContentStore::Recorded(absl::string_view ns, const Digest& digest) {
  bool found = false;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](metadata::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        metadata::Statement query,
        conn.Prepare("SELECT 1 FROM content_blobs WHERE namespace = ? AND digest = ?"));
    GANTRY_ASSIGN_OR_RETURN(found, query.Bind(1, ns).Bind(2, digest.str()).Step());
    return absl::OkStatus();
  }));
  return found;
}

absl::Status ContentStore::CommitBlob(absl::string_view ns, const std::string& data_path,
                                      const Digest& digest, int64_t size,
                                      const metadata::StringMap& labels) {
  std::lock_guard<std::mutex> lock(blobs_mu_);
  const std::string blob = BlobPath(digest);
  // NOREPLACE: a blob already there (another namespace's, or a writer that
  // won the race) is kept as it is; ours has the same bytes.
  if (::renameat2(AT_FDCWD, data_path.c_str(), AT_FDCWD, blob.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EEXIST) return LastErrno(absl::StrCat("rename ", data_path, " to ", blob));
  } else {
    GANTRY_RETURN_IF_ERROR(SyncDir(absl::StrCat(root_, "/blobs/sha256")));
  }
  return Record(ns, digest, size, labels);
}

absl::StatusOr<bool> ContentStore::Share(absl::string_view ns, const Digest& digest) {
  std::lock_guard<std::mutex> lock(blobs_mu_);
  struct stat st;
  if (::stat(BlobPath(digest).c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return LastErrno(absl::StrCat("stat ", BlobPath(digest)));
  }
  absl::Status recorded = Record(ns, digest, st.st_size, {});
  if (!recorded.ok() && !absl::IsAlreadyExists(recorded)) return recorded;
  return true;
}

absl::Status ContentStore::Record(absl::string_view ns, const Digest& digest, int64_t size,
                                  const metadata::StringMap& labels) {
  const int64_t now = TimeUtil::TimestampToNanoseconds(Now());
  return db_.Write([&](metadata::Connection& conn) -> absl::Status {
    GANTRY_RETURN_IF_ERROR(metadata::RecordNamespace(conn, ns));
    GANTRY_ASSIGN_OR_RETURN(metadata::Statement insert,
                            conn.Prepare("INSERT INTO content_blobs VALUES (?, ?, ?, ?, ?)"));
    absl::Status inserted =
        insert.Bind(1, ns).Bind(2, digest.str()).Bind(3, size).Bind(4, now).Bind(5, now).Run();
    if (absl::IsAlreadyExists(inserted)) {
      return absl::AlreadyExistsError(
          absl::StrCat("content ", digest.str(), ": already exists in namespace \"", ns, "\""));
    }
    GANTRY_RETURN_IF_ERROR(inserted);
    return metadata::ReplaceStringMap(conn, "content_labels", "digest", ns, digest.str(), labels);
  });
}

absl::StatusOr<v1::ContentInfo> ContentStore::Info(absl::string_view ns, absl::string_view digest) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_ASSIGN_OR_RETURN(Digest parsed, ParseDigest(digest));
  std::vector<v1::ContentInfo> infos;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](metadata::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(infos, LoadInfos(conn, ns, parsed.str()));
    return absl::OkStatus();
  }));
  if (infos.empty()) return BlobNotFound(ns, digest);
  return infos.front();
}

absl::StatusOr<UniqueFd> ContentStore::OpenBlob(absl::string_view ns, absl::string_view digest) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_ASSIGN_OR_RETURN(Digest parsed, ParseDigest(digest));
  GANTRY_ASSIGN_OR_RETURN(bool exists, Recorded(ns, parsed));
  if (!exists) return BlobNotFound(ns, digest);
  const std::string path = BlobPath(parsed);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return LastErrno(absl::StrCat("content ", digest, ": open ", path));
  return fd;
}

absl::StatusOr<std::string> ContentStore::ReadAt(absl::string_view ns, absl::string_view digest,
                                                 int64_t offset, int64_t size) {
  if (offset < 0 || size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("content ", digest, ": negative offset or size"));
  }
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, OpenBlob(ns, digest));
  std::string data(static_cast<size_t>(size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pread(fd.get(), data.data() + done, data.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrno(absl::StrCat("content ", digest, ": read"));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

absl::StatusOr<std::vector<v1::ContentInfo>> ContentStore::List(
    absl::string_view ns, const std::vector<std::string>& filters) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_ASSIGN_OR_RETURN(Filter filter, Filter::ParseAny(filters));
  std::vector<v1::ContentInfo> all;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](metadata::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(all, LoadInfos(conn, ns, ""));
    return absl::OkStatus();
  }));
  std::vector<v1::ContentInfo> matching;
  for (v1::ContentInfo& info : all) {
    if (filter.Match([&info](const std::vector<std::string>& p) { return InfoField(info, p); })) {
      matching.push_back(std::move(info));
    }
  }
  return matching;
}

absl::StatusOr<v1::ContentInfo> ContentStore::Update(absl::string_view ns,
                                                     const v1::ContentInfo& info,
                                                     const google::protobuf::FieldMask& mask) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_ASSIGN_OR_RETURN(Digest parsed, ParseDigest(info.digest()));
  std::vector<std::string> paths(mask.paths().begin(), mask.paths().end());
  if (paths.empty()) paths = {"labels"};
  v1::ContentInfo stored;
  GANTRY_RETURN_IF_ERROR(db_.Write([&](metadata::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(std::vector<v1::ContentInfo> found, LoadInfos(conn, ns, parsed.str()));
    if (found.empty()) return BlobNotFound(ns, info.digest());
    stored = std::move(found.front());
    for (const std::string& path : paths) {
      if (!metadata::ApplyLabelsPath(path, info.labels(), *stored.mutable_labels())) {
        return absl::InvalidArgumentError(
            absl::StrCat("update_mask: \"", path, "\": only labels of content can be updated"));
      }
    }
    GANTRY_RETURN_IF_ERROR(metadata::ValidateLabels("info.labels", stored.labels()));
    *stored.mutable_updated_at() = Now();
    GANTRY_ASSIGN_OR_RETURN(
        metadata::Statement touch,
        conn.Prepare("UPDATE content_blobs SET updated_at = ? WHERE namespace = ? AND digest = ?"));
    GANTRY_RETURN_IF_ERROR(touch.Bind(1, TimeUtil::TimestampToNanoseconds(stored.updated_at()))
                               .Bind(2, ns)
                               .Bind(3, parsed.str())
                               .Run());
    return metadata::ReplaceStringMap(conn, "content_labels", "digest", ns, parsed.str(),
                                      stored.labels());
  }));
  return stored;
}

absl::Status ContentStore::Delete(absl::string_view ns, absl::string_view digest) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_ASSIGN_OR_RETURN(Digest parsed, ParseDigest(digest));
  std::lock_guard<std::mutex> lock(blobs_mu_);
  int64_t holders = 0;
  GANTRY_RETURN_IF_ERROR(db_.Write([&](metadata::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        metadata::Statement remove,
        conn.Prepare("DELETE FROM content_blobs WHERE namespace = ? AND digest = ?"));
    GANTRY_RETURN_IF_ERROR(remove.Bind(1, ns).Bind(2, parsed.str()).Run());
    if (conn.Changes() == 0) return BlobNotFound(ns, digest);
    GANTRY_ASSIGN_OR_RETURN(metadata::Statement count,
                            conn.Prepare("SELECT COUNT(*) FROM content_blobs WHERE digest = ?"));
    GANTRY_RETURN_IF_ERROR(count.Bind(1, parsed.str()).Step().status());
    holders = count.ColumnInt(0);
    return absl::OkStatus();
  }));
  // After the records: a crash in between leaves an unreferenced file,
  // never a record without its file.
  if (holders == 0 && ::unlink(BlobPath(parsed).c_str()) != 0 && errno != ENOENT) {
    return LastErrno(absl::StrCat("content ", digest, ": remove ", BlobPath(parsed)));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ContentStatus> ContentStore::Status(absl::string_view ns,
                                                       const std::string& ref) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (ref.empty()) return absl::InvalidArgumentError("ref: must not be empty");
  absl::StatusOr<IngestRecord> record = ReadIngest(IngestDir(ns, ref));
  if (absl::IsNotFound(record.status())) {
    return absl::NotFoundError(
        absl::StrCat("ingest ", ref, ": not found in namespace \"", ns, "\""));
  }
  GANTRY_RETURN_IF_ERROR(record.status());
  return record->status;
}

absl::StatusOr<std::vector<v1::ContentStatus>> ContentStore::ListStatuses(
    absl::string_view ns, const std::vector<std::string>& filters) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_ASSIGN_OR_RETURN(Filter filter, Filter::ParseAny(filters));
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> dirs, IngestDirs());
  std::vector<v1::ContentStatus> statuses;
  for (const std::string& dir : dirs) {
    absl::StatusOr<IngestRecord> record = ReadIngest(dir);
    // One being created or removed right now, or half-made by a crash.
    if (!record.ok() || record->ns != ns) continue;
    const v1::ContentStatus& status = record->status;
    if (filter.Match([&status](const std::vector<std::string>& path) -> std::optional<std::string> {
          if (path.size() == 1 && path[0] == "ref") return status.ref();
          return std::nullopt;
        })) {
      statuses.push_back(status);
    }
  }
  std::sort(statuses.begin(), statuses.end(),
            [](const auto& a, const auto& b) { return a.ref() < b.ref(); });
  return statuses;
}

absl::Status ContentStore::Abort(absl::string_view ns, const std::string& ref) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (ref.empty()) return absl::InvalidArgumentError("ref: must not be empty");
  const std::string dir = IngestDir(ns, ref);
  std::lock_guard<std::mutex> lock(mu_);
  if (locked_.count(dir) != 0) {
    return absl::UnavailableError(absl::StrCat("ref ", ref, ": ref locked by a writer"));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat("ingest ", ref, ": not found in namespace \"", ns, "\""));
  }
  return RemoveTree(dir);
}

}  // namespace gantry::contd::content
