// From an image's target descriptor to what unpacking and running it need:
// the index resolved to one platform's manifest, the manifest, the config
// and the layers' chain IDs, all read from the content store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/content/content_store.h"
#include "contd/images/manifest.h"
#include "contd/v1/types.pb.h"

namespace gantry::contd::images {

// Manifests and configs are small; a larger "manifest" is refused rather
// than read into memory (containerd's limit is the same).
inline constexpr int64_t kMaxDocumentSize = 4 << 20;
// Indexes may point at indexes; a loop must not recurse for ever.
inline constexpr int kMaxIndexDepth = 4;

// The bytes of a manifest, index or config of the namespace's content.
// FAILED_PRECONDITION when the descriptor says more than kMaxDocumentSize
// bytes or another size than the content store has.
absl::StatusOr<std::string> ReadDocument(content::ContentStore& store, absl::string_view ns,
                                         const Descriptor& d);

struct ResolvedImage {
  Descriptor manifest_descriptor;  // the target itself unless it is an index
  Manifest manifest;
  ImageConfig config;
  // One per layer, from the config's diff IDs (ChainIDs).
  std::vector<std::string> chain_ids;
};

// Reads target (an index, possibly nested, or a manifest) and what it
// points at from the namespace's content. NOT_FOUND naming a missing blob
// or a platform the index lacks; FAILED_PRECONDITION when a blob's size
// differs from its descriptor's or the manifest's layer count from the
// config's diff IDs.
absl::StatusOr<ResolvedImage> ResolveImage(content::ContentStore& store, absl::string_view ns,
                                           const v1::Descriptor& target, const Platform& platform);

}  // namespace gantry::contd::images
