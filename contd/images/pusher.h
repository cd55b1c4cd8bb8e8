// Pushing an image of the store to a registry: its config and layers
// (mounted from the image's own repository when it is on the same
// registry), then its manifest under the destination's tag. An index is
// pushed with those of its manifests the content store holds.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/content/content_store.h"
#include "contd/images/image_store.h"
#include "contd/registry/registry_client.h"

namespace gantry::contd::images {

// One blob or manifest: "pushing", "pushed".
struct PushProgress {
  std::string digest;
  std::string media_type;
  std::string status;
  int64_t size = 0;
};
using PushProgressFn = std::function<void(const PushProgress&)>;

class ImagePusher {
 public:
  ImagePusher(registry::RegistryClient& registry, content::ContentStore& content,
              ImageStore& images)
      : registry_(registry), content_(content), images_(images) {}

  // Pushes image `name` of `ns` to `reference` (the image's name when
  // empty). Returns the digest of the pushed top-level manifest or index,
  // which is the image target's: the bytes are pushed unchanged.
  absl::StatusOr<std::string> Push(absl::string_view ns, absl::string_view name,
                                   absl::string_view reference, const PushProgressFn& progress);

 private:
  registry::RegistryClient& registry_;
  content::ContentStore& content_;
  ImageStore& images_;
};

}  // namespace gantry::contd::images
