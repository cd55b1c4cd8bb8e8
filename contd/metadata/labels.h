// Helpers the content and image stores share: string maps (labels,
// annotations) kept in child tables shaped (namespace, <owner>, key, value),
// containerd's label rules, and the namespaces table every object joins.
#pragma once

#include <map>
#include <string>

#include <google/protobuf/map.h>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/errors.h"
#include "contd/metadata/database.h"

namespace gantry::contd::metadata {

using StringMap = google::protobuf::Map<std::string, std::string>;

// containerd's limit on a label (key and value together).
inline constexpr size_t kMaxLabelSize = 4096;

// INVALID_ARGUMENT naming `what` ("image.labels") for an empty key or a
// label longer than kMaxLabelSize.
absl::Status ValidateLabels(absl::string_view what, const StringMap& labels);

// Records the namespace (first use creates it), as every object's row
// references it.
absl::Status RecordNamespace(Connection& conn, absl::string_view ns);

// Replaces the entries of (ns, owner) in `table`, whose owner column is
// `owner_column`.
absl::Status ReplaceStringMap(Connection& conn, absl::string_view table,
                              absl::string_view owner_column, absl::string_view ns,
                              absl::string_view owner, const StringMap& entries);

// Entries of `table` in the namespace, by owner (only `owner` when not empty).
absl::StatusOr<std::map<std::string, StringMap>> LoadStringMaps(Connection& conn,
                                                                absl::string_view table,
                                                                absl::string_view owner_column,
                                                                absl::string_view ns,
                                                                absl::string_view owner);

// Applies an update-mask path "labels" or "labels.<key>" (an absent or empty
// value deletes the key); false for any other path.
bool ApplyLabelsPath(absl::string_view path, const StringMap& update, StringMap& stored);

}  // namespace gantry::contd::metadata
