// A container's root filesystem from an image: an active snapshot on top of
// the image's unpacked layers, whose mounts a client passes as
// CreateTaskRequest.rootfs.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/content/content_store.h"
#include "contd/images/image_store.h"
#include "contd/snapshots/snapshotter.h"

namespace gantry::contd::images {

// Prepares snapshot `key` with the image's top chain ID (host platform) as
// parent. NOT_FOUND for an unknown image or when its layers were not
// unpacked into `snapshotter`.
absl::StatusOr<std::vector<snapshots::Mount>> PrepareRootfs(
    content::ContentStore& content, ImageStore& images, snapshots::Snapshotter& snapshotter,
    absl::string_view ns, absl::string_view image, absl::string_view key);

}  // namespace gantry::contd::images
