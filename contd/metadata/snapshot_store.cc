#include "contd/metadata/snapshot_store.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/namespaces.h"
#include "contd/timestamps.h"

namespace gantry::contd::metadata {
namespace {

using google::protobuf::util::TimeUtil;
using snapshots::Info;
using snapshots::Kind;
using snapshots::Labels;

absl::Status NotFound(absl::string_view ns, absl::string_view key) {
  return absl::NotFoundError(
      absl::StrCat("snapshot \"", key, "\" not found in namespace \"", ns, "\""));
}

absl::Status ValidateKey(absl::string_view what, absl::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": must not be empty"));
  return absl::OkStatus();
}

absl::Status ValidateLabels(const Labels& labels) {
  for (const auto& [key, value] : labels) {
    if (key.empty()) return absl::InvalidArgumentError("snapshot.labels: empty label key");
  }
  return absl::OkStatus();
}

// One record without its parent chain, or NOT_FOUND.
absl::StatusOr<SnapshotRecord> LoadOne(Connection& conn, absl::string_view snapshotter,
                                       absl::string_view ns, absl::string_view key) {
  GANTRY_ASSIGN_OR_RETURN(
      Statement row, conn.Prepare("SELECT id, parent, kind, created_at, updated_at FROM snapshots "
                                  "WHERE snapshotter = ? AND namespace = ? AND key = ?"));
  row.Bind(1, snapshotter).Bind(2, ns).Bind(3, key);
  GANTRY_ASSIGN_OR_RETURN(bool found, row.Step());
  if (!found) return NotFound(ns, key);
  SnapshotRecord r;
  r.id = row.ColumnInt(0);
  r.info.name = std::string(key);
  r.info.parent = row.ColumnText(1);
  r.info.kind = static_cast<Kind>(row.ColumnInt(2));
  r.info.created_at = TimeUtil::NanosecondsToTimestamp(row.ColumnInt(3));
  r.info.updated_at = TimeUtil::NanosecondsToTimestamp(row.ColumnInt(4));
  GANTRY_ASSIGN_OR_RETURN(Statement labels,
                          conn.Prepare("SELECT label, value FROM snapshot_labels "
                                       "WHERE snapshotter = ? AND namespace = ? AND key = ?"));
  labels.Bind(1, snapshotter).Bind(2, ns).Bind(3, key);
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(bool more, labels.Step());
    if (!more) break;
    r.info.labels[labels.ColumnText(0)] = labels.ColumnText(1);
  }
  return r;
}

absl::StatusOr<SnapshotRecord> LoadWithParents(Connection& conn, absl::string_view snapshotter,
                                               absl::string_view ns, absl::string_view key) {
  GANTRY_ASSIGN_OR_RETURN(SnapshotRecord r, LoadOne(conn, snapshotter, ns, key));
  std::string parent = r.info.parent;
  while (!parent.empty()) {
    GANTRY_ASSIGN_OR_RETURN(SnapshotRecord p, LoadOne(conn, snapshotter, ns, parent));
    r.parent_ids.push_back(p.id);
    parent = p.info.parent;
  }
  return r;
}

absl::Status WriteLabels(Connection& conn, absl::string_view snapshotter, absl::string_view ns,
                         absl::string_view key, const Labels& labels) {
  GANTRY_ASSIGN_OR_RETURN(Statement clear,
                          conn.Prepare("DELETE FROM snapshot_labels WHERE snapshotter = ? AND "
                                       "namespace = ? AND key = ?"));
  GANTRY_RETURN_IF_ERROR(clear.Bind(1, snapshotter).Bind(2, ns).Bind(3, key).Run());
  for (const auto& [label, value] : labels) {
    GANTRY_ASSIGN_OR_RETURN(Statement insert,
                            conn.Prepare("INSERT INTO snapshot_labels VALUES (?, ?, ?, ?, ?)"));
    GANTRY_RETURN_IF_ERROR(
        insert.Bind(1, snapshotter).Bind(2, ns).Bind(3, key).Bind(4, label).Bind(5, value).Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> NextId(Connection& conn, absl::string_view snapshotter) {
  GANTRY_ASSIGN_OR_RETURN(
      Statement bump,
      conn.Prepare("INSERT INTO snapshot_ids VALUES (?, 1) "
                   "ON CONFLICT (snapshotter) DO UPDATE SET next_id = next_id + 1"));
  GANTRY_RETURN_IF_ERROR(bump.Bind(1, snapshotter).Run());
  GANTRY_ASSIGN_OR_RETURN(Statement read,
                          conn.Prepare("SELECT next_id FROM snapshot_ids WHERE snapshotter = ?"));
  read.Bind(1, snapshotter);
  GANTRY_RETURN_IF_ERROR(read.Step().status());
  return read.ColumnInt(0);
}

}  // namespace

absl::StatusOr<SnapshotRecord> SnapshotStore::Create(
    absl::string_view ns, absl::string_view key, absl::string_view parent, Kind kind,
    const Labels& labels, const std::function<absl::Status(int64_t id)>& materialize) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_RETURN_IF_ERROR(ValidateKey("key", key));
  GANTRY_RETURN_IF_ERROR(ValidateLabels(labels));
  SnapshotRecord created;
  GANTRY_RETURN_IF_ERROR(db_.Write([&](Connection& conn) -> absl::Status {
    if (!parent.empty()) {
      GANTRY_ASSIGN_OR_RETURN(SnapshotRecord p, LoadWithParents(conn, snapshotter_, ns, parent));
      if (p.info.kind != Kind::kCommitted) {
        return absl::FailedPreconditionError(
            absl::StrCat("parent \"", parent, "\": a ", snapshots::KindName(p.info.kind),
                         " snapshot cannot be a parent; commit it first"));
      }
      created.parent_ids.push_back(p.id);
      created.parent_ids.insert(created.parent_ids.end(), p.parent_ids.begin(), p.parent_ids.end());
    }
    const int64_t now = TimeUtil::TimestampToNanoseconds(Now());
    GANTRY_ASSIGN_OR_RETURN(Statement add_namespace,
                            conn.Prepare("INSERT OR IGNORE INTO namespaces VALUES (?, ?)"));
    GANTRY_RETURN_IF_ERROR(add_namespace.Bind(1, ns).Bind(2, now).Run());
    GANTRY_ASSIGN_OR_RETURN(created.id, NextId(conn, snapshotter_));
    GANTRY_ASSIGN_OR_RETURN(Statement insert,
                            conn.Prepare("INSERT INTO snapshots (snapshotter, namespace, key, id, "
                                         "parent, kind, created_at, updated_at) "
                                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    absl::Status inserted = insert.Bind(1, snapshotter_)
                                .Bind(2, ns)
                                .Bind(3, key)
                                .Bind(4, created.id)
                                .Bind(5, parent)
                                .Bind(6, static_cast<int64_t>(kind))
                                .Bind(7, now)
                                .Bind(8, now)
                                .Run();
    if (absl::IsAlreadyExists(inserted)) {
      return absl::AlreadyExistsError(
          absl::StrCat("snapshot \"", key, "\" already exists in namespace \"", ns, "\""));
    }
    GANTRY_RETURN_IF_ERROR(inserted);
    GANTRY_RETURN_IF_ERROR(WriteLabels(conn, snapshotter_, ns, key, labels));
    created.info = Info{std::string(key),
                        std::string(parent),
                        kind,
                        labels,
                        TimeUtil::NanosecondsToTimestamp(now),
                        TimeUtil::NanosecondsToTimestamp(now)};
    return materialize(created.id);
  }));
  return created;
}

absl::StatusOr<SnapshotRecord> SnapshotStore::Get(absl::string_view ns, absl::string_view key) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_RETURN_IF_ERROR(ValidateKey("key", key));
  SnapshotRecord r;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(r, LoadWithParents(conn, snapshotter_, ns, key));
    return absl::OkStatus();
  }));
  return r;
}

absl::Status SnapshotStore::Commit(absl::string_view ns, absl::string_view name,
                                   absl::string_view key, const Labels& labels) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_RETURN_IF_ERROR(ValidateKey("name", name));
  GANTRY_RETURN_IF_ERROR(ValidateKey("key", key));
  GANTRY_RETURN_IF_ERROR(ValidateLabels(labels));
  return db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(SnapshotRecord r, LoadOne(conn, snapshotter_, ns, key));
    if (r.info.kind != Kind::kActive) {
      return absl::FailedPreconditionError(
          absl::StrCat("snapshot \"", key, "\": only an active snapshot can be committed, not a ",
                       snapshots::KindName(r.info.kind), " one"));
    }
    const int64_t now = TimeUtil::TimestampToNanoseconds(Now());
    // Labels go first: their rows reference the key being renamed.
    GANTRY_RETURN_IF_ERROR(WriteLabels(conn, snapshotter_, ns, key, {}));
    GANTRY_ASSIGN_OR_RETURN(Statement rename,
                            conn.Prepare("UPDATE snapshots SET key = ?, kind = ?, created_at = ?, "
                                         "updated_at = ? WHERE snapshotter = ? AND namespace = ? "
                                         "AND key = ?"));
    absl::Status renamed = rename.Bind(1, name)
                               .Bind(2, static_cast<int64_t>(Kind::kCommitted))
                               .Bind(3, now)
                               .Bind(4, now)
                               .Bind(5, snapshotter_)
                               .Bind(6, ns)
                               .Bind(7, key)
                               .Run();
    if (absl::IsAlreadyExists(renamed)) {
      return absl::AlreadyExistsError(
          absl::StrCat("snapshot \"", name, "\" already exists in namespace \"", ns, "\""));
    }
    GANTRY_RETURN_IF_ERROR(renamed);
    return WriteLabels(conn, snapshotter_, ns, name, labels);
  });
}

absl::StatusOr<Info> SnapshotStore::Update(absl::string_view ns, const Info& info,
                                           const std::vector<std::string>& paths) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_RETURN_IF_ERROR(ValidateKey("info.name", info.name));
  GANTRY_RETURN_IF_ERROR(ValidateLabels(info.labels));
  Info updated;
  GANTRY_RETURN_IF_ERROR(db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(SnapshotRecord r, LoadOne(conn, snapshotter_, ns, info.name));
    updated = std::move(r.info);
    if (paths.empty()) updated.labels = info.labels;
    for (const std::string& path : paths) {
      if (path == "labels") {
        updated.labels = info.labels;
      } else if (absl::StartsWith(path, "labels.")) {
        const std::string label = path.substr(7);
        auto it = info.labels.find(label);
        if (it == info.labels.end() || it->second.empty()) {
          updated.labels.erase(label);
        } else {
          updated.labels[label] = it->second;
        }
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("update_mask: \"", path, "\": only labels of a snapshot can change"));
      }
    }
    updated.updated_at = Now();
    GANTRY_ASSIGN_OR_RETURN(Statement touch,
                            conn.Prepare("UPDATE snapshots SET updated_at = ? WHERE snapshotter = "
                                         "? AND namespace = ? AND key = ?"));
    GANTRY_RETURN_IF_ERROR(touch.Bind(1, TimeUtil::TimestampToNanoseconds(updated.updated_at))
                               .Bind(2, snapshotter_)
                               .Bind(3, ns)
                               .Bind(4, info.name)
                               .Run());
    return WriteLabels(conn, snapshotter_, ns, info.name, updated.labels);
  }));
  return updated;
}

absl::StatusOr<int64_t> SnapshotStore::Remove(absl::string_view ns, absl::string_view key) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_RETURN_IF_ERROR(ValidateKey("key", key));
  int64_t id = 0;
  GANTRY_RETURN_IF_ERROR(db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(SnapshotRecord r, LoadOne(conn, snapshotter_, ns, key));
    GANTRY_ASSIGN_OR_RETURN(Statement children,
                            conn.Prepare("SELECT key FROM snapshots WHERE snapshotter = ? AND "
                                         "namespace = ? AND parent = ? ORDER BY key"));
    children.Bind(1, snapshotter_).Bind(2, ns).Bind(3, key);
    GANTRY_ASSIGN_OR_RETURN(bool has_child, children.Step());
    if (has_child) {
      return absl::FailedPreconditionError(
          absl::StrCat("snapshot \"", key, "\": cannot remove, snapshot \"", children.ColumnText(0),
                       "\" has it as parent"));
    }
    GANTRY_RETURN_IF_ERROR(WriteLabels(conn, snapshotter_, ns, key, {}));
    GANTRY_ASSIGN_OR_RETURN(Statement remove,
                            conn.Prepare("DELETE FROM snapshots WHERE snapshotter = ? AND "
                                         "namespace = ? AND key = ?"));
    GANTRY_RETURN_IF_ERROR(remove.Bind(1, snapshotter_).Bind(2, ns).Bind(3, key).Run());
    id = r.id;
    return absl::OkStatus();
  }));
  return id;
}

absl::StatusOr<std::vector<Info>> SnapshotStore::List(absl::string_view ns) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  std::vector<Info> infos;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(Statement keys,
                            conn.Prepare("SELECT key FROM snapshots WHERE snapshotter = ? AND "
                                         "namespace = ? ORDER BY key"));
    keys.Bind(1, snapshotter_).Bind(2, ns);
    std::vector<std::string> names;
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool more, keys.Step());
      if (!more) break;
      names.push_back(keys.ColumnText(0));
    }
    for (const std::string& name : names) {
      GANTRY_ASSIGN_OR_RETURN(SnapshotRecord r, LoadOne(conn, snapshotter_, ns, name));
      infos.push_back(std::move(r.info));
    }
    return absl::OkStatus();
  }));
  return infos;
}

absl::StatusOr<std::set<int64_t>> SnapshotStore::Ids() {
  std::set<int64_t> ids;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(Statement rows,
                            conn.Prepare("SELECT id FROM snapshots WHERE snapshotter = ?"));
    rows.Bind(1, snapshotter_);
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool more, rows.Step());
      if (!more) break;
      ids.insert(rows.ColumnInt(0));
    }
    return absl::OkStatus();
  }));
  return ids;
}

}  // namespace gantry::contd::metadata
