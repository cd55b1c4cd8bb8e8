// Images in the metadata database: a name in a namespace pointing at a
// manifest or index (the target descriptor), with labels. The gRPC Images
// service calls this; it knows nothing of gRPC. Thread-safe (all calls go
// through Database's transactions).
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/field_mask.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/metadata/database.h"
#include "contd/v1/images.pb.h"

namespace gantry::contd::images {

class ImageStore {
 public:
  explicit ImageStore(metadata::Database& db) : db_(db) {}

  // Stores a new image, setting created_at and updated_at to now.
  // INVALID_ARGUMENT naming the field for an empty name, a target without
  // media type or with a bad digest, or a bad label; ALREADY_EXISTS when the
  // namespace has an image of that name.
  absl::StatusOr<v1::Image> Create(absl::string_view ns, const v1::Image& image);

  // NOT_FOUND when the namespace has no such image.
  absl::StatusOr<v1::Image> Get(absl::string_view ns, absl::string_view name);

  // The namespace's images matching any filter (all when none), by name.
  // Filter fields: name, labels.<key>, target.digest, target.mediatype.
  absl::StatusOr<std::vector<v1::Image>> List(absl::string_view ns,
                                              const std::vector<std::string>& filters);

  // Replaces the fields the mask names ("labels", "labels.<key>",
  // "target", "annotations" (the target's)) with those of `update`, found
  // by update.name; an empty mask replaces labels and target. NOT_FOUND for
  // an unknown image; INVALID_ARGUMENT for other paths (name is immutable).
  absl::StatusOr<v1::Image> Update(absl::string_view ns, const v1::Image& update,
                                   const google::protobuf::FieldMask& mask);

  // NOT_FOUND when the namespace has no such image.
  absl::Status Delete(absl::string_view ns, absl::string_view name);

 private:
  metadata::Database& db_;
};

}  // namespace gantry::contd::images
