#include "contd/images/image_store.h"

#include <optional>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/errors.h"
#include "contd/filters.h"
#include "contd/metadata/labels.h"
#include "contd/namespaces.h"
#include "contd/timestamps.h"

namespace gantry::contd::images {
namespace {

using google::protobuf::util::TimeUtil;
using metadata::Connection;
using metadata::Statement;

absl::Status NotFound(absl::string_view ns, absl::string_view name) {
  return absl::NotFoundError(
      absl::StrCat("image \"", name, "\" not found in namespace \"", ns, "\""));
}

absl::Status ValidateImage(const v1::Image& image) {
  if (image.name().empty()) return absl::InvalidArgumentError("image.name: must not be empty");
  const std::string what = absl::StrCat("image \"", image.name(), "\": ");
  if (image.target().media_type().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, "image.target.media_type must be set"));
  }
  GANTRY_RETURN_IF_ERROR(Annotate(Digest::Parse(image.target().digest()).status(),
                                  absl::StrCat(what, "image.target.digest")));
  if (image.target().size() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, "image.target.size: negative"));
  }
  return metadata::ValidateLabels(absl::StrCat(what, "image.labels"), image.labels());
}

absl::Status WriteImage(Connection& conn, absl::string_view ns, const v1::Image& image,
                        bool create) {
  constexpr char kInsert[] =
      "INSERT INTO images (target_media_type, target_digest, target_size, created_at, "
      "updated_at, namespace, name) VALUES (?, ?, ?, ?, ?, ?, ?)";
  constexpr char kUpdate[] =
      "UPDATE images SET target_media_type = ?, target_digest = ?, target_size = ?, "
      "created_at = ?, updated_at = ? WHERE namespace = ? AND name = ?";
  GANTRY_ASSIGN_OR_RETURN(Statement write, conn.Prepare(create ? kInsert : kUpdate));
  absl::Status written = write.Bind(1, image.target().media_type())
                             .Bind(2, image.target().digest())
                             .Bind(3, image.target().size())
                             .Bind(4, TimeUtil::TimestampToNanoseconds(image.created_at()))
                             .Bind(5, TimeUtil::TimestampToNanoseconds(image.updated_at()))
                             .Bind(6, ns)
                             .Bind(7, image.name())
                             .Run();
  if (absl::IsAlreadyExists(written)) {
    return absl::AlreadyExistsError(
        absl::StrCat("image \"", image.name(), "\" already exists in namespace \"", ns, "\""));
  }
  GANTRY_RETURN_IF_ERROR(written);
  GANTRY_RETURN_IF_ERROR(
      metadata::ReplaceStringMap(conn, "image_labels", "name", ns, image.name(), image.labels()));
  return metadata::ReplaceStringMap(conn, "image_target_annotations", "name", ns, image.name(),
                                    image.target().annotations());
}

// The namespace's images (only `name` when not empty), by name.
absl::StatusOr<std::vector<v1::Image>> LoadImages(Connection& conn, absl::string_view ns,
                                                  absl::string_view name) {
  GANTRY_ASSIGN_OR_RETURN(
      Statement rows,
      conn.Prepare("SELECT name, target_media_type, target_digest, target_size, created_at, "
                   "updated_at FROM images WHERE namespace = ?1 AND (?2 = '' OR name = ?2) "
                   "ORDER BY name"));
  rows.Bind(1, ns).Bind(2, name);
  std::vector<v1::Image> images;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(bool row, rows.Step());
    if (!row) break;
    v1::Image& image = images.emplace_back();
    image.set_name(rows.ColumnText(0));
    image.mutable_target()->set_media_type(rows.ColumnText(1));
    image.mutable_target()->set_digest(rows.ColumnText(2));
    image.mutable_target()->set_size(rows.ColumnInt(3));
    *image.mutable_created_at() = TimeUtil::NanosecondsToTimestamp(rows.ColumnInt(4));
    *image.mutable_updated_at() = TimeUtil::NanosecondsToTimestamp(rows.ColumnInt(5));
  }
  GANTRY_ASSIGN_OR_RETURN(auto labels,
                          metadata::LoadStringMaps(conn, "image_labels", "name", ns, name));
  GANTRY_ASSIGN_OR_RETURN(
      auto annotations,
      metadata::LoadStringMaps(conn, "image_target_annotations", "name", ns, name));
  for (v1::Image& image : images) {
    if (auto it = labels.find(image.name()); it != labels.end()) {
      *image.mutable_labels() = it->second;
    }
    if (auto it = annotations.find(image.name()); it != annotations.end()) {
      *image.mutable_target()->mutable_annotations() = it->second;
    }
  }
  return images;
}

std::optional<std::string> ImageField(const v1::Image& image,
                                      const std::vector<std::string>& path) {
  if (path.size() == 1 && path[0] == "name") return image.name();
  if (path.size() == 2 && path[0] == "target") {
    if (path[1] == "digest") return image.target().digest();
    if (path[1] == "mediatype" || path[1] == "media_type") return image.target().media_type();
  }
  if (path.size() == 2 && path[0] == "labels") {
    auto it = image.labels().find(path[1]);
    if (it != image.labels().end()) return it->second;
  }
  return std::nullopt;
}

absl::Status ApplyMask(const v1::Image& update, const google::protobuf::FieldMask& mask,
                       v1::Image& stored) {
  std::vector<std::string> paths(mask.paths().begin(), mask.paths().end());
  if (paths.empty()) paths = {"labels", "target"};
  for (const std::string& path : paths) {
    if (metadata::ApplyLabelsPath(path, update.labels(), *stored.mutable_labels())) continue;
    if (path == "target") {
      *stored.mutable_target() = update.target();
    } else if (path == "annotations" || path == "target.annotations") {
      *stored.mutable_target()->mutable_annotations() = update.target().annotations();
    } else if (path == "name") {
      return absl::InvalidArgumentError("update_mask: \"name\": the image name is immutable");
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask: \"", path, "\": not an updatable image field"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Image> ImageStore::Create(absl::string_view ns, const v1::Image& image) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_RETURN_IF_ERROR(ValidateImage(image));
  v1::Image stored = image;
  *stored.mutable_created_at() = Now();
  *stored.mutable_updated_at() = stored.created_at();
  GANTRY_RETURN_IF_ERROR(db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_RETURN_IF_ERROR(metadata::RecordNamespace(conn, ns));
    return WriteImage(conn, ns, stored, /*create=*/true);
  }));
  return stored;
}

absl::StatusOr<v1::Image> ImageStore::Get(absl::string_view ns, absl::string_view name) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (name.empty()) return absl::InvalidArgumentError("name: must not be empty");
  std::vector<v1::Image> found;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(found, LoadImages(conn, ns, name));
    return absl::OkStatus();
  }));
  if (found.empty()) return NotFound(ns, name);
  return std::move(found.front());
}

absl::StatusOr<std::vector<v1::Image>> ImageStore::List(absl::string_view ns,
                                                        const std::vector<std::string>& filters) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  GANTRY_ASSIGN_OR_RETURN(Filter filter, Filter::ParseAny(filters));
  std::vector<v1::Image> all;
  GANTRY_RETURN_IF_ERROR(db_.Read([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(all, LoadImages(conn, ns, ""));
    return absl::OkStatus();
  }));
  std::vector<v1::Image> matching;
  for (v1::Image& image : all) {
    if (filter.Match(
            [&image](const std::vector<std::string>& p) { return ImageField(image, p); })) {
      matching.push_back(std::move(image));
    }
  }
  return matching;
}

absl::StatusOr<v1::Image> ImageStore::Update(absl::string_view ns, const v1::Image& update,
                                             const google::protobuf::FieldMask& mask) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (update.name().empty()) return absl::InvalidArgumentError("image.name: must not be empty");
  v1::Image stored;
  GANTRY_RETURN_IF_ERROR(db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(std::vector<v1::Image> found, LoadImages(conn, ns, update.name()));
    if (found.empty()) return NotFound(ns, update.name());
    stored = std::move(found.front());
    GANTRY_RETURN_IF_ERROR(ApplyMask(update, mask, stored));
    GANTRY_RETURN_IF_ERROR(ValidateImage(stored));
    *stored.mutable_updated_at() = Now();
    return WriteImage(conn, ns, stored, /*create=*/false);
  }));
  return stored;
}

absl::Status ImageStore::Delete(absl::string_view ns, absl::string_view name) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(ns));
  if (name.empty()) return absl::InvalidArgumentError("name: must not be empty");
  return db_.Write([&](Connection& conn) -> absl::Status {
    GANTRY_ASSIGN_OR_RETURN(Statement remove,
                            conn.Prepare("DELETE FROM images WHERE namespace = ? AND name = ?"));
    GANTRY_RETURN_IF_ERROR(remove.Bind(1, ns).Bind(2, name).Run());
    return conn.Changes() == 0 ? NotFound(ns, name) : absl::OkStatus();
  });
}

}  // namespace gantry::contd::images
