// From an image's target descriptor to what unpacking and running it need:
// the index resolved to one platform's manifest, the manifest, the config
// and the layers' chain IDs, all read from the content store.
#pragma once

#include <cstdint>
#include <functional>
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

// Reads the bytes of a document (index, manifest, config) a descriptor
// names, from wherever the caller keeps them (contd's store, or contd's
// Content service for engined). Returning more than d.size bytes is how a
// reader reports a blob larger than its descriptor says.
using DocumentReader = std::function<absl::StatusOr<std::string>(const Descriptor&)>;

// A reader of the namespace's content in `store`.
DocumentReader StoreReader(content::ContentStore& store, absl::string_view ns);

// The bytes of a manifest, index or config. FAILED_PRECONDITION when the
// descriptor says more than kMaxDocumentSize bytes or another size than
// the blob has.
absl::StatusOr<std::string> ReadDocument(const DocumentReader& read, const Descriptor& d);
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
absl::StatusOr<ResolvedImage> ResolveImage(const DocumentReader& read, const v1::Descriptor& target,
                                           const Platform& platform);

absl::StatusOr<ResolvedImage> ResolveImage(content::ContentStore& store, absl::string_view ns,
                                           const v1::Descriptor& target, const Platform& platform);

}  // namespace gantry::contd::images
