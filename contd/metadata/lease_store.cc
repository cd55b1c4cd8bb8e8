#include "contd/metadata/lease_store.h"

#include <random>
#include <shared_mutex>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/errors.h"
#include "contd/filters.h"
#include "contd/identifiers.h"
#include "contd/metadata/labels.h"
#include "contd/namespaces.h"
#include "contd/timestamps.h"

namespace gantry::contd::metadata {
namespace {

using google::protobuf::util::TimeUtil;

absl::Status NotFound(absl::string_view ns, absl::string_view id) {
  return absl::NotFoundError(
      absl::StrCat("lease \"", id, "\" not found in namespace \"", ns, "\""));
}

std::string RandomId() {
  std::random_device random;
  return absl::StrCat("lease-", absl::Hex(random(), absl::kZeroPad8),
                      absl::Hex(random(), absl::kZeroPad8));
}

absl::Status ValidateResource(const v1::LeaseResource& resource) {
  if (resource.id().empty()) return absl::InvalidArgumentError("resource.id: must not be empty");
  const std::string& type = resource.type();
  if (type == kLeaseContent) {
    return Annotate(Digest::Parse(resource.id()).status(), "resource.id");
  }
  if (type == kLeaseIngests) return absl::OkStatus();
  if (absl::StartsWith(type, absl::StrCat(kLeaseSnapshotsPrefix, "/")) &&
      type.size() > sizeof(kLeaseSnapshotsPrefix)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "resource.type: \"", type, "\" is not content, ingests or snapshots/<snapshotter>"));
}

absl::Status RequireLease(Connection& conn, absl::string_view ns, absl::string_view id) {
  GANTRY_ASSIGN_OR_RETURN(Statement query,
                          conn.Prepare("SELECT 1 FROM leases WHERE namespace = ? AND id = ?"));
  GANTRY_ASSIGN_OR_RETURN(bool found, query.Bind(1, ns).Bind(2, id).Step());
  return found ? absl::OkStatus() : NotFound(ns, id);
}

std::optional<std::string> LeaseField(const v1::Lease& lease,
                                      const std::vector<std::string>& path) {
  if (path.size() == 1 && path[0] == "id") return lease.id();
  if (path.size() == 2 && path[0] == "labels") {
    auto it = lease.labels().find(path[1]);
    if (it != lease.labels().end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace

v1::LeaseResource ContentResource(absl::string_view digest) {
  v1::LeaseResource r;
  r.set_type(kLeaseContent);
  r.set_id(std::string(digest));
  return r;
}

v1::LeaseResource IngestResource(absl::string_view ref) {
  v1::LeaseResource r;
  r.set_type(kLeaseIngests);
  r.set_id(std::string(ref));
  return r;
}

v1::LeaseResource SnapshotResource(absl::string_view snapshotter, absl::string_view key) {
  v1::LeaseResource r;
  r.set_type(absl::StrCat(kLeaseSnapshotsPrefix, "/", snapshotter));
  r.set_id(std::string(key));
  return r;
}

absl::StatusOr<v1::Lease> LeaseStore::Create(
    absl::string_view ns, absl::string_view id,
    const google::protobuf::Map<std::string, std::string>& labels) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  v1::Lease lease;
  lease.set_id(id.empty() ? RandomId() : std::string(id));
  GANTRY_RETURN_IF_ERROR(ValidateIdentifier("lease.id", lease.id()));
  GANTRY_RETURN_IF_ERROR(ValidateLabels("lease.labels", labels));
  *lease.mutable_labels() = labels;
  *lease.mutable_created_at() = Now();
  GANTRY_RETURN_IF_ERROR(db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_RETURN_IF_ERROR(RecordNamespace(conn, ns));
    GANTRY_ASSIGN_OR_RETURN(Statement insert, conn.Prepare("INSERT INTO leases VALUES (?, ?, ?)"));
    absl::Status inserted = insert.Bind(1, ns)
                                .Bind(2, lease.id())
                                .Bind(3, TimeUtil::TimestampToNanoseconds(lease.created_at()))
                                .Run();
    if (absl::IsAlreadyExists(inserted)) {
      return absl::AlreadyExistsError(
          absl::StrCat("lease \"", lease.id(), "\" already exists in namespace \"", ns, "\""));
    }
    GANTRY_RETURN_IF_ERROR(inserted);
    return ReplaceStringMap(conn, "lease_labels", "lease_id", ns, lease.id(), labels);
  }));
  return lease;
}

absl::Status LeaseStore::Delete(absl::string_view ns, absl::string_view id) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_RETURN_IF_ERROR(db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(Statement remove,
                            conn.Prepare("DELETE FROM leases WHERE namespace = ? AND id = ?"));
    GANTRY_RETURN_IF_ERROR(remove.Bind(1, ns).Bind(2, id).Run());
    return conn.Changes() == 0 ? NotFound(ns, id) : absl::OkStatus();
  }));
  if (deleted_) deleted_();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Lease>> LeaseStore::List(absl::string_view ns,
                                                        const std::vector<std::string>& filters) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_ASSIGN_OR_RETURN(Filter filter, Filter::ParseAny(filters));
  std::vector<v1::Lease> leases;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(
        Statement rows,
        conn.Prepare("SELECT id, created_at FROM leases WHERE namespace = ? ORDER BY id"));
    rows.Bind(1, ns);
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, rows.Step());
      if (!row) break;
      v1::Lease& lease = leases.emplace_back();
      lease.set_id(rows.ColumnText(0));
      *lease.mutable_created_at() = TimeUtil::NanosecondsToTimestamp(rows.ColumnInt(1));
    }
    GANTRY_ASSIGN_OR_RETURN(auto labels, LoadStringMaps(conn, "lease_labels", "lease_id", ns, ""));
    for (v1::Lease& lease : leases) {
      if (auto it = labels.find(lease.id()); it != labels.end()) {
        *lease.mutable_labels() = it->second;
      }
    }
    return absl::OkStatus();
  }));
  std::vector<v1::Lease> matching;
  for (v1::Lease& lease : leases) {
    if (filter.Match(
            [&lease](const std::vector<std::string>& p) { return LeaseField(lease, p); })) {
      matching.push_back(std::move(lease));
    }
  }
  return matching;
}

absl::Status LeaseStore::AddResource(absl::string_view ns, absl::string_view id,
                                     const v1::LeaseResource& resource) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_RETURN_IF_ERROR(ValidateResource(resource));
  return db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_RETURN_IF_ERROR(RequireLease(conn, ns, id));
    GANTRY_ASSIGN_OR_RETURN(
        Statement insert,
        conn.Prepare("INSERT OR IGNORE INTO lease_resources VALUES (?, ?, ?, ?)"));
    return insert.Bind(1, ns).Bind(2, id).Bind(3, resource.type()).Bind(4, resource.id()).Run();
  });
}

absl::Status LeaseStore::DeleteResource(absl::string_view ns, absl::string_view id,
                                        const v1::LeaseResource& resource) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_RETURN_IF_ERROR(ValidateResource(resource));
  return db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_RETURN_IF_ERROR(RequireLease(conn, ns, id));
    GANTRY_ASSIGN_OR_RETURN(Statement remove,
                            conn.Prepare("DELETE FROM lease_resources WHERE namespace = ? AND "
                                         "lease_id = ? AND type = ? AND id = ?"));
    return remove.Bind(1, ns).Bind(2, id).Bind(3, resource.type()).Bind(4, resource.id()).Run();
  });
}

absl::StatusOr<std::vector<v1::LeaseResource>> LeaseStore::ListResources(absl::string_view ns,
                                                                         absl::string_view id) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  std::vector<v1::LeaseResource> resources;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](Connection& conn) -> absl::Status {
    GANTRY_RETURN_IF_ERROR(RequireLease(conn, ns, id));
    GANTRY_ASSIGN_OR_RETURN(Statement rows,
                            conn.Prepare("SELECT type, id FROM lease_resources WHERE namespace = "
                                         "? AND lease_id = ? ORDER BY type, id"));
    rows.Bind(1, ns).Bind(2, id);
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, rows.Step());
      if (!row) return absl::OkStatus();
      v1::LeaseResource& r = resources.emplace_back();
      r.set_type(rows.ColumnText(0));
      r.set_id(rows.ColumnText(1));
    }
  }));
  return resources;
}

absl::Status LeaseStore::CreateLeased(
    absl::string_view ns, absl::string_view id,
    const std::function<absl::Status(std::vector<v1::LeaseResource>& made)>& create) {
  std::vector<v1::LeaseResource> made;
  if (id.empty()) return create(made);
  std::shared_lock<std::shared_mutex> hold(db_.gc_lock());
  absl::Status created = create(made);
  if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
  for (const v1::LeaseResource& resource : made) {
    GANTRY_RETURN_IF_ERROR(AddResource(ns, id, resource));
  }
  return created;
}

}  // namespace gantry::contd::metadata
