// contd's content store, laid out as containerd's under <root>/content:
//
//   blobs/sha256/<hex>          committed blobs, immutable (0444)
//   ingest/<sha256 of ref>/     one directory per ingest in progress:
//     data ref total expected startedat updatedat
//
// Blobs are shared on disk by all namespaces; a namespace sees a blob only
// while the metadata database records it for that namespace (containerd's
// metadata layer does the same over its local store). Ingest refs are
// scoped the same way: the ref on disk is "<namespace>/<ref>".
//
// Thread-safe. A ref is written by one ContentWriter at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/field_mask.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/digest.h"
#include "common/unique_fd.h"
#include "contd/metadata/database.h"
#include "contd/metadata/labels.h"
#include "contd/v1/content.pb.h"

namespace gantry::contd::content {

class ContentStore;

// One open ingest, used by one thread at a time. Destroying it without
// Commit or Abort keeps what was written, so a later Writer with the same
// ref resumes there.
class ContentWriter {
 public:
  ContentWriter(const ContentWriter&) = delete;
  ContentWriter& operator=(const ContentWriter&) = delete;
  ~ContentWriter();

  // Bytes written so far (including those of an earlier, resumed writer).
  int64_t offset() const { return offset_; }
  v1::ContentStatus Status() const;
  // The digest of the bytes, once Commit has verified them ("" before).
  const std::string& digest() const { return digest_; }

  // Appends at offset().
  absl::Status Write(absl::string_view data);
  // Feeds the bytes [0, offset()) to `fn` in order, so that a client
  // resuming the ingest can verify a digest over the whole blob.
  absl::Status ReadWritten(const std::function<absl::Status(absl::string_view)>& fn) const;
  // Restarts the ingest (size 0) or keeps it (size == offset()); other
  // sizes are INVALID_ARGUMENT, as the hash cannot be rewound.
  absl::Status Truncate(int64_t size);

  // Checks the bytes against `size` (when positive; the expected total
  // otherwise) and `digest` (when set; the expected digest otherwise) and
  // moves them into blobs/ under their digest, recorded for the writer's
  // namespace with `labels`. On a mismatch FAILED_PRECONDITION naming
  // expected and actual values, and the ingest is removed: bad bytes are
  // never visible. ALREADY_EXISTS when the namespace has the blob already
  // (another writer committed it first); the ingest is removed then too.
  // The writer is finished afterwards, whatever the outcome.
  absl::Status Commit(int64_t size, const std::string& digest, const metadata::StringMap& labels);

  // Removes the ingest and everything written to it.
  absl::Status Abort();

 private:
  friend class ContentStore;
  ContentWriter(ContentStore& store, std::string ns, std::string ref, std::string dir)
      : store_(store), ns_(std::move(ns)), ref_(std::move(ref)), dir_(std::move(dir)) {}
  absl::Status Open(int64_t expected_size, const std::string& expected_digest);
  absl::Status Create();
  absl::Status Resume(int64_t expected_size, const std::string& expected_digest);
  // Removes the ingest after a commit or a failed verification.
  absl::Status Discard();

  ContentStore& store_;
  const std::string ns_;
  const std::string ref_;  // as the client named it, without the namespace
  const std::string dir_;
  UniqueFd data_;
  std::unique_ptr<Sha256> hash_ = std::make_unique<Sha256>();
  int64_t offset_ = 0;
  int64_t total_ = 0;
  std::string expected_;
  google::protobuf::Timestamp started_at_;
  google::protobuf::Timestamp updated_at_;
  std::string digest_;
  bool finished_ = false;
};

class ContentStore {
 public:
  // Creates <root>/content/{blobs/sha256,ingest} as needed, and removes
  // ingest directories a crash left half-made.
  static absl::StatusOr<std::unique_ptr<ContentStore>> Open(const std::string& root,
                                                            metadata::Database& db);

  ContentStore(const ContentStore&) = delete;
  ContentStore& operator=(const ContentStore&) = delete;

  // Opens the ingest `ref`, resuming it when it exists. `expected_size` (0:
  // unknown) and `expected_digest` ("": unknown) are checked at commit.
  // UNAVAILABLE ("ref locked") while another writer holds the ref;
  // ALREADY_EXISTS when the namespace has the expected blob already, or
  // when another namespace has it: it is then recorded for this one too,
  // without labels, and need not be sent again (containerd's default
  // "shared" content policy).
  absl::StatusOr<std::unique_ptr<ContentWriter>> Writer(absl::string_view ns,
                                                        const std::string& ref,
                                                        int64_t expected_size,
                                                        const std::string& expected_digest);

  // NOT_FOUND unless the namespace has the blob.
  absl::StatusOr<v1::ContentInfo> Info(absl::string_view ns, absl::string_view digest);
  // A read-only descriptor of the blob's file.
  absl::StatusOr<UniqueFd> OpenBlob(absl::string_view ns, absl::string_view digest);
  // Up to `size` bytes from `offset` (fewer at the end of the blob).
  absl::StatusOr<std::string> ReadAt(absl::string_view ns, absl::string_view digest, int64_t offset,
                                     int64_t size);
  // The namespace's blobs matching any filter (all when none), by digest.
  // Filter fields: digest, size, labels.<key>.
  absl::StatusOr<std::vector<v1::ContentInfo>> List(absl::string_view ns,
                                                    const std::vector<std::string>& filters);
  // Replaces the labels the mask names ("labels", "labels.<key>"; all
  // labels when empty) of the blob info.digest names.
  absl::StatusOr<v1::ContentInfo> Update(absl::string_view ns, const v1::ContentInfo& info,
                                         const google::protobuf::FieldMask& mask);
  // Forgets the blob in the namespace; the file goes when no namespace has
  // it any more. NOT_FOUND unless the namespace has it.
  absl::Status Delete(absl::string_view ns, absl::string_view digest);

  // Progress of the namespace's ingest `ref`; NOT_FOUND when there is none.
  absl::StatusOr<v1::ContentStatus> Status(absl::string_view ns, const std::string& ref);
  // The namespace's ingests matching any filter (field: ref), by ref.
  absl::StatusOr<std::vector<v1::ContentStatus>> ListStatuses(
      absl::string_view ns, const std::vector<std::string>& filters);
  // Removes an ingest; NOT_FOUND when there is none, UNAVAILABLE while a
  // writer holds it.
  absl::Status Abort(absl::string_view ns, const std::string& ref);

  // Path of a blob's file (whether or not it exists).
  std::string BlobPath(const Digest& digest) const;

 private:
  friend class ContentWriter;
  ContentStore(std::string root, metadata::Database& db) : root_(std::move(root)), db_(db) {}

  std::string IngestDir(absl::string_view ns, const std::string& ref) const;
  // Paths of every ingest directory, whatever its namespace.
  absl::StatusOr<std::vector<std::string>> IngestDirs() const;
  void Unlock(const std::string& dir);
  // Moves a verified ingest's data into blobs/ and records it for `ns`.
  absl::Status CommitBlob(absl::string_view ns, const std::string& data_path, const Digest& digest,
                          int64_t size, const metadata::StringMap& labels);
  absl::StatusOr<bool> Recorded(absl::string_view ns, const Digest& digest);
  // containerd's "shared" policy: a blob on disk (another namespace's) is
  // recorded for `ns` without its bytes being sent again. False when absent.
  absl::StatusOr<bool> Share(absl::string_view ns, const Digest& digest);
  // Records the blob for `ns`; the caller holds blobs_mu_. ALREADY_EXISTS
  // when recorded already.
  absl::Status Record(absl::string_view ns, const Digest& digest, int64_t size,
                      const metadata::StringMap& labels);

  const std::string root_;  // <root>/content
  metadata::Database& db_;
  std::mutex mu_;
  // Ingest directories held by a live writer.
  std::set<std::string> locked_;
  // Serializes a blob's file appearing or going with its records, so a
  // Delete never removes a file a Commit has just recorded.
  std::mutex blobs_mu_;
};

}  // namespace gantry::contd::content
