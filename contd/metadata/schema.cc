#include "contd/metadata/schema.h"

namespace gantry::contd::metadata {

const std::vector<SchemaComponent>& SchemaComponents() {
  static const auto* components = new std::vector<SchemaComponent>{
      {"namespaces", {R"sql(
CREATE TABLE namespaces (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql"}},
      // Timestamps are nanoseconds since the epoch; runtime options, spec
      // and extension values are serialized google.protobuf.Any messages.
      {"containers", {R"sql(
CREATE TABLE containers (
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  id TEXT NOT NULL,
  image TEXT NOT NULL,
  runtime_name TEXT NOT NULL,
  runtime_options BLOB,
  spec BLOB NOT NULL,
  snapshotter TEXT NOT NULL,
  snapshot_key TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
CREATE TABLE container_labels (
  namespace TEXT NOT NULL,
  container_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (namespace, container_id, key),
  FOREIGN KEY (namespace, container_id) REFERENCES containers(namespace, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE container_extensions (
  namespace TEXT NOT NULL,
  container_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (namespace, container_id, key),
  FOREIGN KEY (namespace, container_id) REFERENCES containers(namespace, id) ON DELETE CASCADE
) WITHOUT ROWID;
)sql"}},
      // Blobs live once on disk (<root>/content/blobs); a namespace sees a
      // blob only while it has a row here.
      {"content", {R"sql(
CREATE TABLE content_blobs (
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, digest)
) WITHOUT ROWID;
CREATE TABLE content_labels (
  namespace TEXT NOT NULL,
  digest TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (namespace, digest, key),
  FOREIGN KEY (namespace, digest) REFERENCES content_blobs(namespace, digest) ON DELETE CASCADE
) WITHOUT ROWID;
)sql"}},
      {"images", {R"sql(
CREATE TABLE images (
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  name TEXT NOT NULL,
  target_media_type TEXT NOT NULL,
  target_digest TEXT NOT NULL,
  target_size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
) WITHOUT ROWID;
CREATE TABLE image_labels (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (namespace, name, key),
  FOREIGN KEY (namespace, name) REFERENCES images(namespace, name) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE image_target_annotations (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (namespace, name, key),
  FOREIGN KEY (namespace, name) REFERENCES images(namespace, name) ON DELETE CASCADE
) WITHOUT ROWID;
)sql"}},
      // Snapshots of every snapshotter; `id` names the snapshot's directory
      // and is never reused (snapshot_ids holds the last one handed out).
      // `parent` is the key of a committed snapshot in the same namespace.
      {"snapshots", {R"sql(
CREATE TABLE snapshot_ids (
  snapshotter TEXT PRIMARY KEY,
  next_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE snapshots (
  snapshotter TEXT NOT NULL,
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  key TEXT NOT NULL,
  id INTEGER NOT NULL,
  parent TEXT NOT NULL,
  kind INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (snapshotter, namespace, key),
  UNIQUE (snapshotter, id)
) WITHOUT ROWID;
CREATE INDEX snapshots_by_parent ON snapshots (snapshotter, namespace, parent);
CREATE TABLE snapshot_labels (
  snapshotter TEXT NOT NULL,
  namespace TEXT NOT NULL,
  key TEXT NOT NULL,
  label TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (snapshotter, namespace, key, label),
  FOREIGN KEY (snapshotter, namespace, key) REFERENCES snapshots(snapshotter, namespace, key)
    ON DELETE CASCADE
) WITHOUT ROWID;
)sql"}},
      // Leases (containerd's): a lease holds (type, id) pairs, types
      // "content", "ingests" and "snapshots/<snapshotter>"; the resources need
      // not exist (a lease may hold content before it is written).
      {"leases", {R"sql(
CREATE TABLE leases (
  namespace TEXT NOT NULL REFERENCES namespaces(name),
  id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
CREATE TABLE lease_labels (
  namespace TEXT NOT NULL,
  lease_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (namespace, lease_id, key),
  FOREIGN KEY (namespace, lease_id) REFERENCES leases(namespace, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE lease_resources (
  namespace TEXT NOT NULL,
  lease_id TEXT NOT NULL,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (namespace, lease_id, type, id),
  FOREIGN KEY (namespace, lease_id) REFERENCES leases(namespace, id) ON DELETE CASCADE
) WITHOUT ROWID;
)sql"}},
  };
  return *components;
}

}  // namespace gantry::contd::metadata
