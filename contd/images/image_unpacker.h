// Unpacking an image whose blobs are in the content store: its layers, in
// order, each into a snapshot committed under its chain ID (contd/unpack),
// so images sharing a base share its snapshots.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/content/content_store.h"
#include "contd/images/image_resolver.h"
#include "contd/images/puller.h"
#include "contd/snapshots/snapshotter.h"

namespace gantry::contd::images {

// Unpacks the image's layers into `snapshotter` (a layer whose snapshot
// exists is not unpacked again), reporting "extracting" and "done" for
// each; `check_cancelled` runs before each layer. Returns the top layer's
// chain ID ("" for an image without layers). Errors name the layer.
absl::StatusOr<std::string> UnpackImage(content::ContentStore& content,
                                        snapshots::Snapshotter& snapshotter, absl::string_view ns,
                                        const ResolvedImage& image, const PullProgressFn& progress,
                                        const std::function<absl::Status()>& check_cancelled);

}  // namespace gantry::contd::images
