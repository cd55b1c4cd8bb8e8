#include "contd/images/image_resolver.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::contd::images {

DocumentReader StoreReader(content::ContentStore& store, absl::string_view ns) {
  return [&store, ns = std::string(ns)](const Descriptor& d) -> absl::StatusOr<std::string> {
    GANTRY_ASSIGN_OR_RETURN(v1::ContentInfo info, store.Info(ns, d.digest));
    return store.ReadAt(ns, d.digest, 0, std::min(info.size(), d.size + 1));
  };
}

absl::StatusOr<std::string> ReadDocument(content::ContentStore& store, absl::string_view ns,
                                         const Descriptor& d) {
  return ReadDocument(StoreReader(store, ns), d);
}

absl::StatusOr<std::string> ReadDocument(const DocumentReader& read, const Descriptor& d) {
  if (d.size > kMaxDocumentSize) {
    return absl::FailedPreconditionError(absl::StrCat(d.media_type, " ", d.digest, ": ", d.size,
                                                      " bytes is more than a document may have (",
                                                      kMaxDocumentSize, ")"));
  }
  GANTRY_ASSIGN_OR_RETURN(std::string text, read(d));
  if (static_cast<int64_t>(text.size()) != d.size) {
    return absl::FailedPreconditionError(absl::StrCat(d.digest, ": the descriptor says ", d.size,
                                                      " bytes, the blob has ", text.size()));
  }
  return text;
}

absl::StatusOr<ResolvedImage> ResolveImage(content::ContentStore& store, absl::string_view ns,
                                           const v1::Descriptor& target, const Platform& platform) {
  return ResolveImage(StoreReader(store, ns), target, platform);
}

absl::StatusOr<ResolvedImage> ResolveImage(const DocumentReader& read, const v1::Descriptor& target,
                                           const Platform& platform) {
  ResolvedImage image;
  Descriptor current{target.media_type(), target.digest(), target.size(), {}, {}, {}};
  for (int depth = 0; IsIndexMediaType(current.media_type); ++depth) {
    if (depth == kMaxIndexDepth) {
      return absl::FailedPreconditionError(
          absl::StrCat(target.digest(), ": indexes nested more than ", kMaxIndexDepth, " deep"));
    }
    GANTRY_ASSIGN_OR_RETURN(std::string text, ReadDocument(read, current));
    absl::StatusOr<Index> index = ParseIndex(text);
    GANTRY_RETURN_IF_ERROR(Annotate(index.status(), current.digest));
    absl::StatusOr<Descriptor> selected = SelectManifest(*index, platform);
    GANTRY_RETURN_IF_ERROR(Annotate(selected.status(), current.digest));
    current = *std::move(selected);
  }
  if (!IsManifestMediaType(current.media_type)) {
    return absl::InvalidArgumentError(absl::StrCat(
        current.digest, ": media type \"", current.media_type, "\" is not a manifest or index"));
  }
  image.manifest_descriptor = current;
  GANTRY_ASSIGN_OR_RETURN(std::string manifest_text, ReadDocument(read, current));
  absl::StatusOr<Manifest> manifest = ParseManifest(manifest_text);
  GANTRY_RETURN_IF_ERROR(Annotate(manifest.status(), current.digest));
  image.manifest = *std::move(manifest);

  GANTRY_ASSIGN_OR_RETURN(std::string config_text, ReadDocument(read, image.manifest.config));
  absl::StatusOr<ImageConfig> config = ParseImageConfig(config_text);
  GANTRY_RETURN_IF_ERROR(Annotate(config.status(), image.manifest.config.digest));
  image.config = *std::move(config);
  if (image.config.diff_ids.size() != image.manifest.layers.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat(current.digest, ": ", image.manifest.layers.size(),
                     " layers but the config lists ", image.config.diff_ids.size(), " diff IDs"));
  }
  image.chain_ids = ChainIDs(image.config.diff_ids);
  return image;
}

}  // namespace gantry::contd::images
