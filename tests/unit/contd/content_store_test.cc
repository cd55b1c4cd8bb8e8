// The content store keeps verified blobs under <root>/content/blobs, resumes
// ingests, never shows bytes that do not match their digest, lets one of
// several concurrent writers of a blob win, and scopes blobs by namespace.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/digest.h"
#include "common/file_util.h"
#include "contd/content/content_store.h"
#include "contd/metadata/database.h"
#include "tests/temp_dir.h"

namespace {

using gantry::Digest;
using gantry::contd::content::ContentStore;
using gantry::contd::content::ContentWriter;
using gantry::contd::metadata::Database;
using gantry::contd::metadata::StringMap;

StringMap Labels(std::initializer_list<std::pair<const std::string, std::string>> entries) {
  StringMap labels;
  for (const auto& [k, v] : entries) labels[k] = v;
  return labels;
}

struct Fixture {
  gantry::testing::TempDir dir{"content-store-test"};
  std::unique_ptr<Database> db = *Database::Open(dir.path());
  std::unique_ptr<ContentStore> store = *ContentStore::Open(dir.path(), *db);

  std::unique_ptr<ContentWriter> Writer(const std::string& ns, const std::string& ref,
                                        int64_t size = 0, const std::string& digest = "") {
    auto writer = store->Writer(ns, ref, size, digest);
    INFO(writer.status().ToString());
    REQUIRE(writer.ok());
    return std::move(*writer);
  }

  // Writes and commits `data` in one go; returns its digest.
  std::string Put(const std::string& ns, const std::string& data, StringMap labels = {}) {
    const std::string digest = Digest::FromBytes(data).str();
    auto writer = Writer(ns, "put-" + digest, static_cast<int64_t>(data.size()), digest);
    REQUIRE(writer->Write(data).ok());
    absl::Status committed = writer->Commit(static_cast<int64_t>(data.size()), digest, labels);
    INFO(committed.ToString());
    REQUIRE(committed.ok());
    return digest;
  }

  std::string BlobPath(const std::string& digest) {
    return store->BlobPath(*Digest::Parse(digest));
  }

  int IngestCount() {
    int n = 0;
    DIR* d = ::opendir((dir.path() + "/content/ingest").c_str());
    REQUIRE(d != nullptr);
    while (struct dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n;
  }
};

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("content: a committed blob is readable, immutable and listed", "[content]") {
  Fixture f;
  const std::string data = "hello, content store";
  const std::string digest = f.Put("default", data, Labels({{"app", "web"}}));

  struct stat st;
  REQUIRE(::stat(f.BlobPath(digest).c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0444);
  CHECK(f.IngestCount() == 0);

  auto info = f.store->Info("default", digest);
  REQUIRE(info.ok());
  CHECK(info->size() == static_cast<int64_t>(data.size()));
  CHECK(info->labels().at("app") == "web");
  CHECK(*f.store->ReadAt("default", digest, 7, 7) == "content");
  CHECK(*f.store->ReadAt("default", digest, 15, 100) == "store");

  f.Put("default", "another blob");
  CHECK(f.store->List("default", {})->size() == 2);
  auto labelled = f.store->List("default", {"labels.app==web"});
  REQUIRE(labelled.ok());
  REQUIRE(labelled->size() == 1);
  CHECK(labelled->front().digest() == digest);

  // Writing it again is refused up front.
  auto again = f.store->Writer("default", "again", 0, digest);
  CHECK(absl::IsAlreadyExists(again.status()));
}

TEST_CASE("content: an interrupted ingest resumes where it stopped", "[content]") {
  Fixture f;
  const std::string data(300000, 'x');
  const std::string digest = Digest::FromBytes(data).str();
  {
    auto writer = f.Writer("default", "layer-1", static_cast<int64_t>(data.size()), digest);
    REQUIRE(writer->Write(data.substr(0, 100000)).ok());
  }  // the client went away
  // ... and contd restarted: all the ingest's state is on disk. (An ingest
  // cut short before its `ref` file was written cannot be resumed and goes.)
  const std::string half_made = f.dir.path() + "/content/ingest/half-made";
  REQUIRE(gantry::MakeDirs(half_made).ok());
  REQUIRE(gantry::WriteFileAtomic(half_made + "/data", "partial").ok());
  f.store = *ContentStore::Open(f.dir.path(), *f.db);
  CHECK_FALSE(Exists(half_made));
  auto status = f.store->Status("default", "layer-1");
  REQUIRE(status.ok());
  CHECK(status->offset() == 100000);
  CHECK(status->total() == static_cast<int64_t>(data.size()));
  CHECK(status->expected() == digest);
  CHECK(f.store->ListStatuses("default", {"ref==layer-1"})->size() == 1);

  auto writer = f.Writer("default", "layer-1");
  REQUIRE(writer->offset() == 100000);
  REQUIRE(writer->Write(data.substr(100000)).ok());
  // Size and digest come from the ingest when the commit gives none.
  REQUIRE(writer->Commit(0, "", {}).ok());
  CHECK(writer->digest() == digest);
  CHECK(*f.store->ReadAt("default", digest, 0, 1 << 20) == data);
  CHECK(absl::IsNotFound(f.store->Status("default", "layer-1").status()));
}

TEST_CASE("content: one writer holds a ref; Truncate restarts the ingest", "[content]") {
  Fixture f;
  auto first = f.Writer("default", "busy");
  auto second = f.store->Writer("default", "busy", 0, "");
  CHECK(absl::IsUnavailable(second.status()));
  CHECK_THAT(std::string(second.status().message()), Catch::Contains("ref locked"));
  CHECK(absl::IsUnavailable(f.store->Abort("default", "busy")));

  REQUIRE(first->Write("wrong start").ok());
  CHECK(absl::IsInvalidArgument(first->Truncate(3)));
  REQUIRE(first->Truncate(0).ok());
  REQUIRE(first->Write("right").ok());
  REQUIRE(first->Commit(5, Digest::FromBytes("right").str(), {}).ok());
}

TEST_CASE("content: bytes that do not match the digest or size are never visible", "[content]") {
  Fixture f;
  const std::string claimed = Digest::FromBytes("the real thing").str();
  {
    auto writer = f.Writer("default", "bad-digest");
    REQUIRE(writer->Write("a forgery!!!!!").ok());
    absl::Status committed = writer->Commit(0, claimed, {});
    CHECK(absl::IsFailedPrecondition(committed));
    CHECK_THAT(std::string(committed.message()),
               Catch::Contains("expected " + claimed) &&
                   Catch::Contains(Digest::FromBytes("a forgery!!!!!").str()));
  }
  CHECK_FALSE(Exists(f.BlobPath(claimed)));
  CHECK_FALSE(Exists(f.BlobPath(Digest::FromBytes("a forgery!!!!!").str())));
  CHECK(absl::IsNotFound(f.store->Info("default", claimed).status()));
  CHECK(absl::IsNotFound(f.store->Status("default", "bad-digest").status()));
  CHECK(f.IngestCount() == 0);

  auto writer = f.Writer("default", "bad-size", 10, "");
  REQUIRE(writer->Write("short").ok());
  absl::Status committed = writer->Commit(0, "", {});
  CHECK(absl::IsFailedPrecondition(committed));
  CHECK_THAT(std::string(committed.message()), Catch::Contains("size 5, expected 10"));
  CHECK(f.store->List("default", {})->empty());
  CHECK(f.IngestCount() == 0);
}

TEST_CASE("content: concurrent writers of one blob: the first commit wins", "[content]") {
  Fixture f;
  const std::string data(1 << 20, 'z');
  const std::string digest = Digest::FromBytes(data).str();
  constexpr int kWriters = 4;
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      auto writer = f.store->Writer("default", "racer-" + std::to_string(i), 0, "");
      if (!writer.ok()) return;
      for (size_t off = 0; off < data.size(); off += 65536) {
        if (!(*writer)->Write(absl::string_view(data).substr(off, 65536)).ok()) return;
      }
      absl::Status committed = (*writer)->Commit(0, digest, {});
      if (committed.ok()) ++won;
      if (absl::IsAlreadyExists(committed)) ++lost;
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(won.load() == 1);
  CHECK(lost.load() == kWriters - 1);
  CHECK(f.IngestCount() == 0);
  CHECK(*f.store->ReadAt("default", digest, 0, 2 << 20) == data);
}

TEST_CASE("content: namespaces share the file but see only their own blobs", "[content]") {
  Fixture f;
  const std::string digest = f.Put("team-a", "shared bytes");
  CHECK(absl::IsNotFound(f.store->Info("team-b", digest).status()));
  CHECK(absl::IsNotFound(f.store->OpenBlob("team-b", digest).status()));
  CHECK(f.store->List("team-b", {})->empty());

  // team-b asks to write the same blob: it is on disk already, so it is
  // recorded for team-b at once and need not be sent.
  auto shared = f.store->Writer("team-b", "same-blob", 0, digest);
  CHECK(absl::IsAlreadyExists(shared.status()));
  auto info = f.store->Info("team-b", digest);
  REQUIRE(info.ok());
  CHECK(info->size() == 12);
  // Written without an expected digest, the bytes are checked and the
  // existing file kept.
  const std::string other = f.Put("team-c", "other bytes");
  auto again = f.Writer("team-a", "again");
  REQUIRE(again->Write("other bytes").ok());
  REQUIRE(again->Commit(0, other, {}).ok());
  CHECK(f.store->Info("team-a", other).ok());

  REQUIRE(f.store->Delete("team-a", digest).ok());
  CHECK(absl::IsNotFound(f.store->Info("team-a", digest).status()));
  CHECK(Exists(f.BlobPath(digest)));  // team-b still has it
  CHECK(*f.store->ReadAt("team-b", digest, 0, 100) == "shared bytes");

  REQUIRE(f.store->Delete("team-b", digest).ok());
  CHECK_FALSE(Exists(f.BlobPath(digest)));
  CHECK(absl::IsNotFound(f.store->Delete("team-b", digest)));

  // Ingest refs are per namespace too.
  auto a = f.Writer("team-a", "same-ref");
  auto b = f.Writer("team-b", "same-ref");
  REQUIRE(a->Write("aaa").ok());
  CHECK(f.store->ListStatuses("team-a", {})->size() == 1);
  CHECK(f.store->Status("team-b", "same-ref")->offset() == 0);
}

TEST_CASE("content: labels are updated by mask; Abort removes an ingest", "[content]") {
  Fixture f;
  const std::string digest = f.Put("default", "labelled", Labels({{"a", "1"}, {"b", "2"}}));
  gantry::contd::v1::ContentInfo change;
  change.set_digest(digest);
  (*change.mutable_labels())["b"] = "3";
  google::protobuf::FieldMask mask;
  mask.add_paths("labels.b");
  mask.add_paths("labels.a");  // absent in the update: removed
  auto updated = f.store->Update("default", change, mask);
  REQUIRE(updated.ok());
  CHECK(updated->labels().size() == 1);
  CHECK(updated->labels().at("b") == "3");
  CHECK(f.store->Info("default", digest)->labels().at("b") == "3");
  mask.set_paths(0, "size");
  CHECK(absl::IsInvalidArgument(f.store->Update("default", change, mask).status()));

  {
    auto writer = f.Writer("default", "to-abort");
    REQUIRE(writer->Write("partial").ok());
  }
  REQUIRE(f.store->Abort("default", "to-abort").ok());
  CHECK(f.IngestCount() == 0);
  CHECK(absl::IsNotFound(f.store->Abort("default", "to-abort")));
}
