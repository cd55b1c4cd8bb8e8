#include "contd/gc/collector.h"

#include <algorithm>
#include <chrono>
#include <shared_mutex>
#include <vector>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "common/log.h"
#include "contd/gc/mark.h"

namespace gantry::contd::gc {
namespace {

using google::protobuf::util::TimeUtil;

// Unreachable snapshots, children before parents: a child of an unreachable
// snapshot is unreachable too (a parent is a reference), so removing the
// deepest first never meets a snapshot that still has children.
std::vector<std::string> RemovalOrder(const std::vector<snapshots::Info>& all,
                                      const std::set<std::string>& keep) {
  std::map<std::string, std::string> parents;
  for (const snapshots::Info& info : all) parents[info.name] = info.parent;
  auto depth = [&parents](std::string key) {
    int d = 0;
    for (auto it = parents.find(key); it != parents.end() && d <= static_cast<int>(parents.size());
         it = parents.find(it->second)) {
      ++d;
    }
    return d;
  };
  std::vector<std::pair<int, std::string>> doomed;
  for (const snapshots::Info& info : all) {
    if (keep.count(info.name) == 0) doomed.emplace_back(depth(info.name), info.name);
  }
  std::sort(doomed.begin(), doomed.end(), std::greater<>());
  std::vector<std::string> keys;
  for (auto& [d, key] : doomed) keys.push_back(std::move(key));
  return keys;
}

}  // namespace

Collector::Collector(metadata::Database& db, content::ContentStore& content,
                     std::map<std::string, snapshots::Snapshotter*> snapshotters,
                     CollectorOptions options)
    : db_(db),
      content_(content),
      snapshotters_(std::move(snapshotters)),
      leases_(db),
      options_(options) {}

Collector::~Collector() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Collector::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Collector::Schedule() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    scheduled_ = true;
  }
  wake_.notify_all();
}

void Collector::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (scheduled_) {
      wake_.wait_for(lock, absl::ToChronoNanoseconds(options_.schedule_delay),
                     [this] { return stopping_; });
    } else if (wake_.wait_for(lock, absl::ToChronoNanoseconds(options_.period),
                              [this] { return stopping_ || scheduled_; }) &&
               !stopping_) {
      continue;  // scheduled: wait the delay first
    }
    if (stopping_) return;
    scheduled_ = false;
    lock.unlock();
    absl::StatusOr<CollectStats> collected = Collect();
    if (!collected.ok()) log::Warning("gc: ", collected.status().message());
    lock.lock();
  }
}

absl::StatusOr<CollectStats> Collector::Collect() {
  std::unique_lock<std::shared_mutex> exclusive(db_.gc_lock());
  const absl::Time start = absl::Now();
  CollectStats stats;
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> namespaces, db_.ListNamespaces());
  absl::Status first_error;
  for (const std::string& ns : namespaces) {
    absl::Status collected = Annotate(CollectNamespace(ns, stats), absl::StrCat("namespace ", ns));
    if (!collected.ok() && first_error.ok()) first_error = collected;
  }
  stats.took = absl::Now() - start;
  if (stats.content + stats.snapshots + stats.ingests + stats.leases > 0) {
    log::Info("gc: removed ", stats.content, " blobs, ", stats.snapshots, " snapshots, ",
              stats.ingests, " ingests, ", stats.leases, " leases in ",
              absl::FormatDuration(stats.took));
  }
  GANTRY_RETURN_IF_ERROR(first_error);
  return stats;
}

absl::Status Collector::CollectNamespace(const std::string& ns, CollectStats& stats) {
  const BlobReader read_blob = [this](absl::string_view digest) -> absl::StatusOr<std::string> {
    GANTRY_ASSIGN_OR_RETURN(Digest parsed, Digest::Parse(digest));
    return ReadFile(content_.BlobPath(parsed));
  };
  const absl::Time now = absl::Now();
  Reachable reached;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](metadata::Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(reached, Mark(conn, ns, now, read_blob));
    return absl::OkStatus();
  }));

  // Expired leases first: they were not roots anyway.
  for (const std::string& id : reached.expired_leases) {
    absl::Status removed = leases_.Delete(ns, id);
    if (removed.ok()) ++stats.leases;
    if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
  }
  GANTRY_ASSIGN_OR_RETURN(std::vector<v1::ContentInfo> blobs, content_.List(ns, {}));
  for (const v1::ContentInfo& blob : blobs) {
    if (reached.content.count(blob.digest()) != 0) continue;
    absl::Status removed = content_.Delete(ns, blob.digest());
    if (removed.ok()) ++stats.content;
    if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
  }
  for (const auto& [name, snapshotter] : snapshotters_) {
    GANTRY_ASSIGN_OR_RETURN(std::vector<snapshots::Info> all, snapshotter->List(ns, {}));
    std::set<std::string> keep;
    for (const SnapshotRef& ref : reached.snapshots) {
      if (ref.snapshotter == name) keep.insert(ref.key);
    }
    for (const std::string& key : RemovalOrder(all, keep)) {
      absl::Status removed = snapshotter->Remove(ns, key);
      if (removed.ok()) ++stats.snapshots;
      // A snapshot that cannot go now (a child the mark missed) waits for
      // the next collection rather than failing this one.
      if (!removed.ok()) log::Warning("gc: snapshot ", name, "/", key, ": ", removed.message());
    }
  }
  GANTRY_ASSIGN_OR_RETURN(std::vector<v1::ContentStatus> ingests, content_.ListStatuses(ns, {}));
  for (const v1::ContentStatus& ingest : ingests) {
    const absl::Time updated =
        absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(ingest.updated_at()));
    if (reached.ingests.count(ingest.ref()) != 0 || now - updated < options_.ingest_expiry) {
      continue;
    }
    // UNAVAILABLE: a writer holds it right now.
    if (content_.Abort(ns, ingest.ref()).ok()) ++stats.ingests;
  }
  return absl::OkStatus();
}

}  // namespace gantry::contd::gc
