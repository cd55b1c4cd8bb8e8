// Exporting images of the store as one tar stream that is both an OCI
// image layout and a docker-archive, as `docker save` writes since Docker
// 25 (and containerd's exporter): oci-layout, index.json naming each image
// by annotations, manifest.json and repositories for `docker load` and
// older readers, and every blob once under blobs/sha256/, as stored (a
// compressed layer stays compressed; manifest.json points at it there).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "contd/content/content_store.h"
#include "contd/images/image_store.h"
#include "contd/images/manifest.h"

namespace gantry::contd::images {

struct ExportOptions {
  // The manifest of an index exported with it; the host's when unset.
  std::optional<Platform> platform;
  // Every manifest of an index instead (all must be in the content store).
  bool all_platforms = false;
};

// Takes the next bytes of the stream; an error ends the export with it.
using ArchiveWriteFn = std::function<absl::Status(absl::string_view)>;

class ImageExporter {
 public:
  ImageExporter(content::ContentStore& content, ImageStore& images)
      : content_(content), images_(images) {}

  // Writes images `names` of namespace `ns` (a name may be given as the
  // store has it or in short form, "busybox" for
  // "docker.io/library/busybox:latest"). Everything is looked up before the
  // first byte is written: NOT_FOUND for an unknown image, FAILED_PRECONDITION
  // naming a blob the content store lacks. A blob whose bytes no longer
  // match its digest ends the stream with DATA_LOSS.
  absl::Status Export(absl::string_view ns, const std::vector<std::string>& names,
                      const ExportOptions& options, const ArchiveWriteFn& write);

 private:
  content::ContentStore& content_;
  ImageStore& images_;
};

}  // namespace gantry::contd::images
