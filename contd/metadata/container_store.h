// Containers in the metadata database, keyed by (namespace, id). The gRPC
// Containers service and the Tasks service call this; it knows nothing of
// gRPC. Thread-safe (all calls go through Database's transactions).
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/field_mask.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/metadata/database.h"
#include "contd/v1/containers.pb.h"

namespace gantry::contd::metadata {

class ContainerStore {
 public:
  explicit ContainerStore(Database& db) : db_(db) {}

  // Stores a new container, setting created_at and updated_at to now, and
  // returns it as stored. INVALID_ARGUMENT naming the field for a bad id or
  // label, no runtime.name or no spec; ALREADY_EXISTS when the namespace
  // holds a container with that id.
  absl::StatusOr<v1::Container> Create(absl::string_view ns, const v1::Container& container);

  // NOT_FOUND when the namespace holds no such container.
  absl::StatusOr<v1::Container> Get(absl::string_view ns, absl::string_view id);

  // The namespace's containers matching any of the filters (all when none),
  // sorted by id. Filter fields: id, image, runtime.name, snapshotter,
  // snapshot_key, labels.<key>. INVALID_ARGUMENT naming a bad filter.
  absl::StatusOr<std::vector<v1::Container>> List(absl::string_view ns,
                                                  const std::vector<std::string>& filters);

  // Replaces the fields the mask names with those of `update` (found by
  // update.id): labels, labels.<key> (an empty value deletes the label),
  // image, spec, snapshot_key, snapshotter, runtime, extensions,
  // extensions.<name>. An empty mask replaces labels, image, spec,
  // snapshot_key and extensions, and refuses a different runtime or
  // snapshotter, as containerd does. INVALID_ARGUMENT for other paths
  // (id is immutable); NOT_FOUND for an unknown container.
  absl::StatusOr<v1::Container> Update(absl::string_view ns, const v1::Container& update,
                                       const google::protobuf::FieldMask& mask);

  // NOT_FOUND when the namespace holds no such container.
  absl::Status Delete(absl::string_view ns, absl::string_view id);

 private:
  Database& db_;
};

}  // namespace gantry::contd::metadata
