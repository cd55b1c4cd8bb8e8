// contd's garbage collector: mark (contd/gc/mark.h) and sweep over every
// namespace, holding the database's GC lock exclusively throughout so that
// no writer creates an object between the two. The sweep removes the
// namespace's records of unreachable blobs (ContentStore removes a file once
// no namespace has it), unreachable snapshots (children before parents),
// expired leases, and ingests no lease holds that nobody wrote to for a day
// (containerd's default ingest expiry). A collection runs when asked
// (Collect: a synchronous image or lease delete), soon after Schedule (an
// image, lease or container deleted), and periodically (expired leases).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "contd/content/content_store.h"
#include "contd/metadata/database.h"
#include "contd/metadata/lease_store.h"
#include "contd/snapshots/snapshotter.h"

namespace gantry::contd::gc {

struct CollectStats {
  int64_t content = 0;
  int64_t snapshots = 0;
  int64_t ingests = 0;
  int64_t leases = 0;
  absl::Duration took;
};

struct CollectorOptions {
  // How long a Schedule waits before collecting (coalescing deletes).
  absl::Duration schedule_delay = absl::Milliseconds(100);
  // How often a collection runs without being asked.
  absl::Duration period = absl::Hours(1);
  // Ingests without a lease untouched this long are removed.
  absl::Duration ingest_expiry = absl::Hours(24);
};

class Collector {
 public:
  // The snapshotters by name, as lease resources and gc.ref labels name them.
  Collector(metadata::Database& db, content::ContentStore& content,
            std::map<std::string, snapshots::Snapshotter*> snapshotters,
            CollectorOptions options = {});
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;
  // Stops the background thread (a collection under way finishes first).
  ~Collector();

  // Starts the background thread that serves Schedule and the period.
  void Start();

  // Held shared by writers that make objects and reference them in steps
  // (an import: blobs, then image records), so no collection runs between.
  std::shared_mutex& gc_lock() { return db_.gc_lock(); }

  // Collects now, in the calling thread. Errors in one namespace are
  // returned after the others are swept.
  absl::StatusOr<CollectStats> Collect();

  // Asks for a collection in the background soon; several requests before
  // it starts are served by one.
  void Schedule();

 private:
  absl::Status CollectNamespace(const std::string& ns, CollectStats& stats);
  void Loop();

  metadata::Database& db_;
  content::ContentStore& content_;
  const std::map<std::string, snapshots::Snapshotter*> snapshotters_;
  metadata::LeaseStore leases_;
  const CollectorOptions options_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool scheduled_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gantry::contd::gc
