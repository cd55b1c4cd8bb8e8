#include "contd/leases/leased_snapshotter.h"

#include "common/errors.h"

namespace gantry::contd::leases {

absl::Status LeasedSnapshotter::Leased(absl::string_view ns, absl::string_view key,
                                       const std::function<absl::Status()>& create) {
  return leases_.CreateLeased(ns, lease_, [&](std::vector<v1::LeaseResource>& made) {
    made.push_back(metadata::SnapshotResource(name_, key));
    return create();
  });
}

absl::StatusOr<snapshots::Info> LeasedSnapshotter::Stat(absl::string_view ns,
                                                        absl::string_view key) {
  snapshots::Info info;
  GANTRY_RETURN_IF_ERROR(Leased(ns, key, [&]() -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(info, inner_.Stat(ns, key));
    return absl::OkStatus();
  }));
  return info;
}

absl::StatusOr<std::vector<snapshots::Mount>> LeasedSnapshotter::CreateLeased(
    CreateFn create, absl::string_view ns, absl::string_view key, absl::string_view parent,
    const snapshots::Labels& labels) {
  std::vector<snapshots::Mount> mounts;
  GANTRY_RETURN_IF_ERROR(Leased(ns, key, [&]() -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(mounts, (inner_.*create)(ns, key, parent, labels));
    return absl::OkStatus();
  }));
  return mounts;
}

absl::StatusOr<std::vector<snapshots::Mount>> LeasedSnapshotter::Prepare(
    absl::string_view ns, absl::string_view key, absl::string_view parent,
    const snapshots::Labels& labels) {
  return CreateLeased(&snapshots::Snapshotter::Prepare, ns, key, parent, labels);
}

absl::StatusOr<std::vector<snapshots::Mount>> LeasedSnapshotter::View(
    absl::string_view ns, absl::string_view key, absl::string_view parent,
    const snapshots::Labels& labels) {
  return CreateLeased(&snapshots::Snapshotter::View, ns, key, parent, labels);
}

absl::Status LeasedSnapshotter::Commit(absl::string_view ns, absl::string_view name,
                                       absl::string_view key, const snapshots::Labels& labels) {
  return Leased(ns, name, [&] { return inner_.Commit(ns, name, key, labels); });
}

}  // namespace gantry::contd::leases
