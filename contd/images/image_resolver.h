// From an image's target descriptor to what unpacking and running it need:
// the index resolved to one platform's manifest, the manifest, the config
// and the layers' chain IDs, all read from the content store.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/content/content_store.h"
#include "contd/images/manifest.h"
#include "contd/v1/types.pb.h"

namespace gantry::contd::images {

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
// Reads the bytes of a document (index, manifest, config) a descriptor
// names, from wherever the caller keeps them (contd's store, or contd's
// Content service for engined). Returning more than d.size bytes is how a
// reader reports a blob larger than its descriptor says.
using DocumentReader = std::function<absl::StatusOr<std::string>(const Descriptor&)>;

absl::StatusOr<ResolvedImage> ResolveImage(const DocumentReader& read, const v1::Descriptor& target,
                                           const Platform& platform);

absl::StatusOr<ResolvedImage> ResolveImage(content::ContentStore& store, absl::string_view ns,
                                           const v1::Descriptor& target, const Platform& platform);

}  // namespace gantry::contd::images
