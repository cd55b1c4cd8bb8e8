#include "contd/images/image_unpacker.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/unpack/layer_snapshot.h"

namespace gantry::contd::images {

absl::StatusOr<std::string> UnpackImage(content::ContentStore& content,
                                        snapshots::Snapshotter& snapshotter, absl::string_view ns,
                                        const ResolvedImage& image, const PullProgressFn& progress,
                                        const std::function<absl::Status()>& check_cancelled) {
  std::optional<Digest> parent;
  const std::vector<Descriptor>& layers = image.manifest.layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (check_cancelled) GANTRY_RETURN_IF_ERROR(check_cancelled());
    const Descriptor& layer = layers[i];
    const std::string what = absl::StrCat("layer ", i, " ", layer.digest);
    GANTRY_ASSIGN_OR_RETURN(const Digest diff_id, Digest::Parse(image.config.diff_ids[i]));
    PullProgress event{
        layer.digest, layer.media_type, "extracting", layer.size, layer.size, diff_id.str(), ""};
    if (progress) progress(event);
    absl::StatusOr<UniqueFd> fd = content.OpenBlob(ns, layer.digest);
    GANTRY_RETURN_IF_ERROR(Annotate(fd.status(), what));
    absl::StatusOr<Digest> chain =
        unpack::UnpackLayerSnapshot(snapshotter, ns, parent, fd->get(), diff_id);
    GANTRY_RETURN_IF_ERROR(Annotate(chain.status(), what));
    event.status = "done";
    event.chain_id = chain->str();
    if (progress) progress(event);
    parent = *chain;
  }
  return parent.has_value() ? parent->str() : std::string();
}

}  // namespace gantry::contd::images
