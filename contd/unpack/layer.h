// Unpacking one image layer (a tar, gzip- or zstd-compressed or not) into a
// directory, with libarchive. Every path is resolved inside the target
// directory; an entry that would reach outside it (an absolute path, "..",
// a hardlink to an outside file, a write through a symlink that points
// outside) fails the whole layer with an error naming the entry, and the
// caller abandons the snapshot.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/digest.h"

namespace gantry::contd::unpack {

// What a whiteout entry becomes.
enum class Whiteouts {
  // Overlayfs whiteouts in the layer itself: `.wh.NAME` a 0/0 character
  // device NAME, `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its
  // directory. For an overlay upperdir.
  kOverlay,
  // The paths are deleted (an opaque directory is emptied of what earlier
  // layers put there). For a full copy of the parent (native snapshotter).
  kDelete,
};

struct ApplyOptions {
  Whiteouts whiteouts = Whiteouts::kOverlay;
};

// Unpacks the layer read from `layer_fd` into `target_dir` and returns its
// diff ID: the sha256 of the uncompressed tar stream. Directories get their
// modification times after their content.
absl::StatusOr<Digest> ApplyLayer(int layer_fd, const std::string& target_dir,
                                  const ApplyOptions& options = {});

}  // namespace gantry::contd::unpack
