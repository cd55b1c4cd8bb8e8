// A snapshotter seen through a lease: the snapshots that Prepare, View and
// Commit create, and those Stat finds, are added to the lease, atomically
// against garbage collection (LeaseStore::CreateLeased). The Snapshots
// service uses it for a call that names a lease; the puller for its pull.
#pragma once

#include <string>
#include <vector>

#include "contd/metadata/lease_store.h"
#include "contd/snapshots/snapshotter.h"

namespace gantry::contd::leases {

class LeasedSnapshotter final : public snapshots::Snapshotter {
 public:
  // `name` is the snapshotter's, as lease resources name it.
  LeasedSnapshotter(snapshots::Snapshotter& inner, std::string name, metadata::LeaseStore& leases,
                    std::string lease)
      : inner_(inner), name_(std::move(name)), leases_(leases), lease_(std::move(lease)) {}

  absl::StatusOr<snapshots::Info> Stat(absl::string_view ns, absl::string_view key) override;
  absl::StatusOr<snapshots::Info> Update(absl::string_view ns, const snapshots::Info& info,
                                         const std::vector<std::string>& paths) override {
    return inner_.Update(ns, info, paths);
  }
  absl::StatusOr<snapshots::Usage> GetUsage(absl::string_view ns, absl::string_view key) override {
    return inner_.GetUsage(ns, key);
  }
  absl::StatusOr<std::vector<snapshots::Mount>> Mounts(absl::string_view ns,
                                                       absl::string_view key) override {
    return inner_.Mounts(ns, key);
  }
  absl::StatusOr<std::vector<snapshots::Mount>> Prepare(absl::string_view ns, absl::string_view key,
                                                        absl::string_view parent,
                                                        const snapshots::Labels& labels) override;
  absl::StatusOr<std::vector<snapshots::Mount>> View(absl::string_view ns, absl::string_view key,
                                                     absl::string_view parent,
                                                     const snapshots::Labels& labels) override;
  absl::Status Commit(absl::string_view ns, absl::string_view name, absl::string_view key,
                      const snapshots::Labels& labels) override;
  absl::Status Remove(absl::string_view ns, absl::string_view key) override {
    return inner_.Remove(ns, key);
  }
  absl::StatusOr<std::vector<snapshots::Info>> List(
      absl::string_view ns, const std::vector<std::string>& filters) override {
    return inner_.List(ns, filters);
  }
  absl::Status Cleanup() override { return inner_.Cleanup(); }

 private:
  using CreateFn = absl::StatusOr<std::vector<snapshots::Mount>> (snapshots::Snapshotter::*)(
      absl::string_view, absl::string_view, absl::string_view, const snapshots::Labels&);
  // Prepare or View of the inner snapshotter, leased.
  absl::StatusOr<std::vector<snapshots::Mount>> CreateLeased(CreateFn create, absl::string_view ns,
                                                             absl::string_view key,
                                                             absl::string_view parent,
                                                             const snapshots::Labels& labels);
  // Runs `create` and leases snapshot `key`.
  absl::Status Leased(absl::string_view ns, absl::string_view key,
                      const std::function<absl::Status()>& create);

  snapshots::Snapshotter& inner_;
  const std::string name_;
  metadata::LeaseStore& leases_;
  const std::string lease_;
};

}  // namespace gantry::contd::leases
