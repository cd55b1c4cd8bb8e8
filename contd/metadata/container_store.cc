#include "contd/metadata/container_store.h"

#include <map>
#include <optional>
#include <type_traits>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/filters.h"
#include "contd/identifiers.h"
#include "contd/namespaces.h"
#include "contd/timestamps.h"

namespace gantry::contd::metadata {
namespace {

using google::protobuf::util::TimeUtil;

// containerd's limit on a label (key and value together).
constexpr size_t kMaxLabelSize = 4096;

absl::Status ValidateContainer(const v1::Container& container) {
  GANTRY_RETURN_IF_ERROR(ValidateIdentifier("container.id", container.id()));
  for (const auto& [key, value] : container.labels()) {
    if (key.empty()) return absl::InvalidArgumentError("container.labels: empty label key");
    if (key.size() + value.size() > kMaxLabelSize) {
      return absl::InvalidArgumentError(absl::StrCat(
          "container.labels: label \"", key, "\" is longer than ", kMaxLabelSize, " bytes"));
    }
  }
  if (container.runtime().name().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("container \"", container.id(), "\": container.runtime.name must be set"));
  }
  if (container.spec().type_url().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("container \"", container.id(), "\": container.spec must be set"));
  }
  if (!container.snapshot_key().empty() && container.snapshotter().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "container \"", container.id(), "\": container.snapshotter must be set with snapshot_key"));
  }
  return absl::OkStatus();
}

absl::Status NotFound(absl::string_view ns, absl::string_view id) {
  return absl::NotFoundError(
      absl::StrCat("container \"", id, "\" not found in namespace \"", ns, "\""));
}

// The child tables (container_labels, container_extensions) share one shape.
template <typename Map>
absl::Status ReplaceMap(Connection& conn, const char* table, absl::string_view ns,
                        absl::string_view id, const Map& entries) {
  GANTRY_ASSIGN_OR_RETURN(Statement clear,
                          conn.Prepare(absl::StrCat("DELETE FROM ", table,
                                                    " WHERE namespace = ? AND container_id = ?")));
  GANTRY_RETURN_IF_ERROR(clear.Bind(1, ns).Bind(2, id).Run());
  for (const auto& [key, value] : entries) {
    GANTRY_ASSIGN_OR_RETURN(Statement insert, conn.Prepare(absl::StrCat("INSERT INTO ", table,
                                                                        " VALUES (?, ?, ?, ?)")));
    if constexpr (std::is_same_v<typename Map::mapped_type, std::string>) {
      insert.Bind(4, value);
    } else {
      insert.BindBlob(4, value.SerializeAsString());
    }
    GANTRY_RETURN_IF_ERROR(insert.Bind(1, ns).Bind(2, id).Bind(3, key).Run());
  }
  return absl::OkStatus();
}

absl::Status WriteContainer(Connection& conn, absl::string_view ns, const v1::Container& c,
                            bool create) {
  constexpr char kInsert[] =
      "INSERT INTO containers (image, runtime_name, runtime_options, spec, snapshotter, "
      "snapshot_key, created_at, updated_at, namespace, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  constexpr char kUpdate[] =
      "UPDATE containers SET image = ?, runtime_name = ?, runtime_options = ?, spec = ?, "
      "snapshotter = ?, snapshot_key = ?, created_at = ?, updated_at = ? "
      "WHERE namespace = ? AND id = ?";
  GANTRY_ASSIGN_OR_RETURN(Statement write, conn.Prepare(create ? kInsert : kUpdate));
  write.Bind(1, c.image()).Bind(2, c.runtime().name());
  if (c.runtime().has_options()) write.BindBlob(3, c.runtime().options().SerializeAsString());
  write.BindBlob(4, c.spec().SerializeAsString())
      .Bind(5, c.snapshotter())
      .Bind(6, c.snapshot_key())
      .Bind(7, TimeUtil::TimestampToNanoseconds(c.created_at()))
      .Bind(8, TimeUtil::TimestampToNanoseconds(c.updated_at()))
      .Bind(9, ns)
      .Bind(10, c.id());
  absl::Status written = write.Run();
  if (absl::IsAlreadyExists(written)) {
    return absl::AlreadyExistsError(
        absl::StrCat("container \"", c.id(), "\" already exists in namespace \"", ns, "\""));
  }
  GANTRY_RETURN_IF_ERROR(written);
  GANTRY_RETURN_IF_ERROR(ReplaceMap(conn, "container_labels", ns, c.id(), c.labels()));
  return ReplaceMap(conn, "container_extensions", ns, c.id(), c.extensions());
}

absl::Status ParseAny(const std::string& bytes, google::protobuf::Any* out,
                      absl::string_view what) {
  if (!out->ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("metadata.db: ", what, ": not a google.protobuf.Any"));
  }
  return absl::OkStatus();
}

// The namespace's containers (only `id` when not empty), sorted by id.
absl::StatusOr<std::vector<v1::Container>> LoadContainers(Connection& conn, absl::string_view ns,
                                                          absl::string_view id) {
  GANTRY_ASSIGN_OR_RETURN(
      Statement rows,
      conn.Prepare("SELECT id, image, runtime_name, runtime_options, spec, snapshotter, "
                   "snapshot_key, created_at, updated_at FROM containers "
                   "WHERE namespace = ?1 AND (?2 = '' OR id = ?2) ORDER BY id"));
  rows.Bind(1, ns).Bind(2, id);
  std::vector<v1::Container> containers;
  std::map<std::string, v1::Container*> by_id;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(bool row, rows.Step());
    if (!row) break;
    v1::Container& c = containers.emplace_back();
    c.set_id(rows.ColumnText(0));
    c.set_image(rows.ColumnText(1));
    c.mutable_runtime()->set_name(rows.ColumnText(2));
    if (!rows.ColumnIsNull(3)) {
      GANTRY_RETURN_IF_ERROR(
          ParseAny(rows.ColumnText(3), c.mutable_runtime()->mutable_options(), "runtime options"));
    }
    GANTRY_RETURN_IF_ERROR(ParseAny(rows.ColumnText(4), c.mutable_spec(), "spec"));
    c.set_snapshotter(rows.ColumnText(5));
    c.set_snapshot_key(rows.ColumnText(6));
    *c.mutable_created_at() = TimeUtil::NanosecondsToTimestamp(rows.ColumnInt(7));
    *c.mutable_updated_at() = TimeUtil::NanosecondsToTimestamp(rows.ColumnInt(8));
  }
  for (v1::Container& c : containers) by_id[c.id()] = &c;

  for (const char* table : {"container_labels", "container_extensions"}) {
    GANTRY_ASSIGN_OR_RETURN(
        Statement entries,
        conn.Prepare(absl::StrCat("SELECT container_id, key, value FROM ", table,
                                  " WHERE namespace = ?1 AND (?2 = '' OR container_id = ?2)")));
    entries.Bind(1, ns).Bind(2, id);
    const bool labels = absl::string_view(table) == "container_labels";
    while (true) {
      GANTRY_ASSIGN_OR_RETURN(bool row, entries.Step());
      if (!row) break;
      auto it = by_id.find(entries.ColumnText(0));
      if (it == by_id.end()) continue;
      if (labels) {
        (*it->second->mutable_labels())[entries.ColumnText(1)] = entries.ColumnText(2);
      } else {
        GANTRY_RETURN_IF_ERROR(ParseAny(entries.ColumnText(2),
                                        &(*it->second->mutable_extensions())[entries.ColumnText(1)],
                                        "extension"));
      }
    }
  }
  return containers;
}

absl::StatusOr<v1::Container> LoadContainer(Connection& conn, absl::string_view ns,
                                            absl::string_view id) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<v1::Container> found, LoadContainers(conn, ns, id));
  if (found.empty()) return NotFound(ns, id);
  return std::move(found.front());
}

std::optional<std::string> ContainerField(const v1::Container& c,
                                          const std::vector<std::string>& path) {
  if (path.size() == 1) {
    if (path[0] == "id") return c.id();
    if (path[0] == "image") return c.image();
    if (path[0] == "snapshotter") return c.snapshotter();
    if (path[0] == "snapshot_key") return c.snapshot_key();
  } else if (path.size() == 2) {
    if (path[0] == "runtime" && path[1] == "name") return c.runtime().name();
    if (path[0] == "labels") {
      auto it = c.labels().find(path[1]);
      if (it != c.labels().end()) return it->second;
    }
  }
  return std::nullopt;
}

absl::Status ApplyMask(const v1::Container& update, const google::protobuf::FieldMask& mask,
                       v1::Container& stored) {
  std::vector<std::string> paths(mask.paths().begin(), mask.paths().end());
  if (paths.empty()) {
    // Replacing everything may not change what a task may depend on.
    if (update.snapshotter() != stored.snapshotter()) {
      return absl::InvalidArgumentError(
          "container.snapshotter: cannot change without naming it in update_mask");
    }
    if (update.runtime().name() != stored.runtime().name()) {
      return absl::InvalidArgumentError(
          "container.runtime.name: cannot change without naming it in update_mask");
    }
    paths = {"labels", "image", "spec", "snapshot_key", "extensions"};
  }
  for (const std::string& path : paths) {
    if (absl::StartsWith(path, "labels.")) {
      const std::string key = path.substr(7);
      auto it = update.labels().find(key);
      if (it == update.labels().end() || it->second.empty()) {
        stored.mutable_labels()->erase(key);
      } else {
        (*stored.mutable_labels())[key] = it->second;
      }
    } else if (absl::StartsWith(path, "extensions.")) {
      const std::string key = path.substr(11);
      auto it = update.extensions().find(key);
      if (it == update.extensions().end()) {
        stored.mutable_extensions()->erase(key);
      } else {
        (*stored.mutable_extensions())[key] = it->second;
      }
    } else if (path == "labels") {
      *stored.mutable_labels() = update.labels();
    } else if (path == "extensions") {
      *stored.mutable_extensions() = update.extensions();
    } else if (path == "image") {
      stored.set_image(update.image());
    } else if (path == "spec") {
      *stored.mutable_spec() = update.spec();
    } else if (path == "snapshot_key" || path == "snapshotkey") {
      stored.set_snapshot_key(update.snapshot_key());
    } else if (path == "snapshotter") {
      stored.set_snapshotter(update.snapshotter());
    } else if (path == "runtime") {
      *stored.mutable_runtime() = update.runtime();
    } else if (path == "id") {
      return absl::InvalidArgumentError("update_mask: \"id\": the container id is immutable");
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask: \"", path, "\": not an updatable container field"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Container> ContainerStore::Create(absl::string_view ns,
                                                     const v1::Container& container) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_RETURN_IF_ERROR(ValidateContainer(container));
  v1::Container stored = container;
  *stored.mutable_created_at() = Now();
  *stored.mutable_updated_at() = stored.created_at();
  GANTRY_RETURN_IF_ERROR(db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(Statement add_namespace,
                            conn.Prepare("INSERT OR IGNORE INTO namespaces VALUES (?, ?)"));
    GANTRY_RETURN_IF_ERROR(add_namespace.Bind(1, ns)
                               .Bind(2, TimeUtil::TimestampToNanoseconds(stored.created_at()))
                               .Run());
    return WriteContainer(conn, ns, stored, /*create=*/true);
  }));
  return stored;
}

absl::StatusOr<v1::Container> ContainerStore::Get(absl::string_view ns, absl::string_view id) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (id.empty()) return absl::InvalidArgumentError("id: must not be empty");
  v1::Container container;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(container, LoadContainer(conn, ns, id));
    return absl::OkStatus();
  }));
  return container;
}

absl::StatusOr<std::vector<v1::Container>> ContainerStore::List(
    absl::string_view ns, const std::vector<std::string>& filters) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_ASSIGN_OR_RETURN(Filter filter, Filter::ParseAny(filters));
  std::vector<v1::Container> all;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(all, LoadContainers(conn, ns, ""));
    return absl::OkStatus();
  }));
  std::vector<v1::Container> matching;
  for (v1::Container& c : all) {
    if (filter.Match(
            [&c](const std::vector<std::string>& path) { return ContainerField(c, path); })) {
      matching.push_back(std::move(c));
    }
  }
  return matching;
}

absl::StatusOr<v1::Container> ContainerStore::Update(absl::string_view ns,
                                                     const v1::Container& update,
                                                     const google::protobuf::FieldMask& mask) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (update.id().empty()) return absl::InvalidArgumentError("container.id: must not be empty");
  v1::Container stored;
  GANTRY_RETURN_IF_ERROR(db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(stored, LoadContainer(conn, ns, update.id()));
    GANTRY_RETURN_IF_ERROR(ApplyMask(update, mask, stored));
    GANTRY_RETURN_IF_ERROR(ValidateContainer(stored));
    *stored.mutable_updated_at() = Now();
    return WriteContainer(conn, ns, stored, /*create=*/false);
  }));
  return stored;
}

absl::Status ContainerStore::Delete(absl::string_view ns, absl::string_view id) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (id.empty()) return absl::InvalidArgumentError("id: must not be empty");
  return db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(Statement remove,
                            conn.Prepare("DELETE FROM containers WHERE namespace = ? AND id = ?"));
    GANTRY_RETURN_IF_ERROR(remove.Bind(1, ns).Bind(2, id).Run());
    return conn.Changes() == 0 ? NotFound(ns, id) : absl::OkStatus();
  });
}

}  // namespace gantry::contd::metadata
