#include "contd/snapshots/snapshots_service.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "contd/grpc_status.h"
#include "contd/leases/leased_snapshotter.h"
#include "contd/leases/request_lease.h"
#include "contd/namespaces.h"

namespace gantry::contd {
namespace {

using snapshots::Info;
using snapshots::Kind;
using snapshots::Labels;

// A List response carries this many snapshots at most, as containerd's.
constexpr int kListBatch = 100;

Labels ToLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  Labels out;
  for (const auto& [key, value] : labels) out[key] = value;
  return out;
}

void ToProto(const std::vector<snapshots::Mount>& mounts,
             google::protobuf::RepeatedPtrField<v1::Mount>* out) {
  for (const snapshots::Mount& m : mounts) {
    v1::Mount* p = out->Add();
    p->set_type(m.type);
    p->set_source(m.source);
    for (const std::string& o : m.options) p->add_options(o);
  }
}

v1::SnapshotKind ToProto(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return v1::SNAPSHOT_KIND_VIEW;
    case Kind::kActive:
      return v1::SNAPSHOT_KIND_ACTIVE;
    case Kind::kCommitted:
      return v1::SNAPSHOT_KIND_COMMITTED;
  }
  return v1::SNAPSHOT_KIND_UNKNOWN;
}

void ToProto(const Info& info, v1::SnapshotInfo* out) {
  out->set_name(info.name);
  out->set_parent(info.parent);
  out->set_kind(ToProto(info.kind));
  *out->mutable_created_at() = info.created_at;
  *out->mutable_updated_at() = info.updated_at;
  out->mutable_labels()->insert(info.labels.begin(), info.labels.end());
}

}  // namespace

absl::StatusOr<std::pair<std::string, snapshots::Snapshotter*>> SnapshotsService::Find(
    const std::string& name) const {
  const std::string& wanted = name.empty() ? default_snapshotter_ : name;
  auto it = snapshotters_.find(wanted);
  if (it == snapshotters_.end()) {
    std::vector<std::string> known;
    for (const auto& [n, s] : snapshotters_) known.push_back(n);
    return absl::InvalidArgumentError(
        absl::StrCat("snapshotter: \"", wanted, "\" is not one of: ", absl::StrJoin(known, ", ")));
  }
  return *it;
}

template <typename Fn>
grpc::Status SnapshotsService::Handle(grpc::ServerContext* context, const std::string& snapshotter,
                                      Fn&& fn) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  absl::StatusOr<std::pair<std::string, snapshots::Snapshotter*>> s = Find(snapshotter);
  if (!s.ok()) return ToGrpcStatus(s.status());
  const std::string lease = RequestLease(*context);
  if (lease.empty()) return ToGrpcStatus(fn(*s->second, *ns));
  leases::LeasedSnapshotter leased(*s->second, s->first, leases_, lease);
  return ToGrpcStatus(fn(leased, *ns));
}

grpc::Status SnapshotsService::Prepare(grpc::ServerContext* context,
                                       const v1::PrepareSnapshotRequest* request,
                                       v1::PrepareSnapshotResponse* response) {
  return Handle(context, request->snapshotter(),
                [&](snapshots::Snapshotter& s, const std::string& ns) -> absl::Status {
                  GANTRY_ASSIGN_OR_RETURN(std::vector<snapshots::Mount> mounts,
                                          s.Prepare(ns, request->key(), request->parent(),
                                                    ToLabels(request->labels())));
                  ToProto(mounts, response->mutable_mounts());
                  return absl::OkStatus();
                });
}

grpc::Status SnapshotsService::View(grpc::ServerContext* context,
                                    const v1::ViewSnapshotRequest* request,
                                    v1::ViewSnapshotResponse* response) {
  return Handle(context, request->snapshotter(),
                [&](snapshots::Snapshotter& s, const std::string& ns) -> absl::Status {
                  GANTRY_ASSIGN_OR_RETURN(
                      std::vector<snapshots::Mount> mounts,
                      s.View(ns, request->key(), request->parent(), ToLabels(request->labels())));
                  ToProto(mounts, response->mutable_mounts());
                  return absl::OkStatus();
                });
}

grpc::Status SnapshotsService::Mounts(grpc::ServerContext* context,
                                      const v1::SnapshotMountsRequest* request,
                                      v1::SnapshotMountsResponse* response) {
  return Handle(context, request->snapshotter(),
                [&](snapshots::Snapshotter& s, const std::string& ns) -> absl::Status {
                  GANTRY_ASSIGN_OR_RETURN(std::vector<snapshots::Mount> mounts,
                                          s.Mounts(ns, request->key()));
                  ToProto(mounts, response->mutable_mounts());
                  return absl::OkStatus();
                });
}

grpc::Status SnapshotsService::Commit(grpc::ServerContext* context,
                                      const v1::CommitSnapshotRequest* request,
                                      google::protobuf::Empty* /*response*/) {
  return Handle(context, request->snapshotter(),
                [&](snapshots::Snapshotter& s, const std::string& ns) {
                  return s.Commit(ns, request->name(), request->key(), ToLabels(request->labels()));
                });
}

grpc::Status SnapshotsService::Remove(grpc::ServerContext* context,
                                      const v1::RemoveSnapshotRequest* request,
                                      google::protobuf::Empty* /*response*/) {
  return Handle(context, request->snapshotter(),
                [&](snapshots::Snapshotter& s, const std::string& ns) {
                  return s.Remove(ns, request->key());
                });
}

grpc::Status SnapshotsService::Stat(grpc::ServerContext* context,
                                    const v1::StatSnapshotRequest* request,
                                    v1::StatSnapshotResponse* response) {
  return Handle(context, request->snapshotter(),
                [&](snapshots::Snapshotter& s, const std::string& ns) -> absl::Status {
                  GANTRY_ASSIGN_OR_RETURN(const Info info, s.Stat(ns, request->key()));
                  ToProto(info, response->mutable_info());
                  return absl::OkStatus();
                });
}

grpc::Status SnapshotsService::Update(grpc::ServerContext* context,
                                      const v1::UpdateSnapshotRequest* request,
                                      v1::UpdateSnapshotResponse* response) {
  return Handle(context, request->snapshotter(),
                [&](snapshots::Snapshotter& s, const std::string& ns) -> absl::Status {
                  Info info;
                  info.name = request->info().name();
                  info.labels = ToLabels(request->info().labels());
                  GANTRY_ASSIGN_OR_RETURN(const Info updated,
                                          s.Update(ns, info,
                                                   {request->update_mask().paths().begin(),
                                                    request->update_mask().paths().end()}));
                  ToProto(updated, response->mutable_info());
                  return absl::OkStatus();
                });
}

grpc::Status SnapshotsService::List(grpc::ServerContext* context,
                                    const v1::ListSnapshotsRequest* request,
                                    grpc::ServerWriter<v1::ListSnapshotsResponse>* writer) {
  return Handle(context, request->snapshotter(),
                [&](snapshots::Snapshotter& s, const std::string& ns) -> absl::Status {
                  GANTRY_ASSIGN_OR_RETURN(
                      const std::vector<Info> infos,
                      s.List(ns, {request->filters().begin(), request->filters().end()}));
                  v1::ListSnapshotsResponse batch;
                  for (const Info& info : infos) {
                    ToProto(info, batch.add_info());
                    if (batch.info_size() == kListBatch) {
                      writer->Write(batch);
                      batch.Clear();
                    }
                  }
                  if (batch.info_size() > 0) writer->Write(batch);
                  return absl::OkStatus();
                });
}

grpc::Status SnapshotsService::Usage(grpc::ServerContext* context,
                                     const v1::SnapshotUsageRequest* request,
                                     v1::SnapshotUsageResponse* response) {
  return Handle(context, request->snapshotter(),
                [&](snapshots::Snapshotter& s, const std::string& ns) -> absl::Status {
                  GANTRY_ASSIGN_OR_RETURN(const snapshots::Usage usage,
                                          s.GetUsage(ns, request->key()));
                  response->set_size(usage.size);
                  response->set_inodes(usage.inodes);
                  return absl::OkStatus();
                });
}

grpc::Status SnapshotsService::Cleanup(grpc::ServerContext* context,
                                       const v1::CleanupSnapshotsRequest* request,
                                       google::protobuf::Empty* /*response*/) {
  return Handle(context, request->snapshotter(),
                [&](snapshots::Snapshotter& s, const std::string& /*ns*/) { return s.Cleanup(); });
}

}  // namespace gantry::contd
