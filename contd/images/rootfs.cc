#include "contd/images/rootfs.h"

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/images/image_resolver.h"

namespace gantry::contd::images {

absl::StatusOr<std::vector<snapshots::Mount>> PrepareRootfs(
    content::ContentStore& content, ImageStore& images, snapshots::Snapshotter& snapshotter,
    absl::string_view ns, absl::string_view image, absl::string_view key) {
  GANTRY_ASSIGN_OR_RETURN(const v1::Image record, images.Get(ns, image));
  absl::StatusOr<ResolvedImage> resolved =
      ResolveImage(content, ns, record.target(), HostPlatform());
  GANTRY_RETURN_IF_ERROR(Annotate(resolved.status(), absl::StrCat("image ", image)));
  const std::string parent = resolved->chain_ids.empty() ? "" : resolved->chain_ids.back();
  if (!parent.empty()) {
    absl::Status unpacked = snapshotter.Stat(ns, parent).status();
    GANTRY_RETURN_IF_ERROR(
        Annotate(unpacked, absl::StrCat("image ", image, ": layers not unpacked")));
  }
  return snapshotter.Prepare(ns, key, parent, {});
}

}  // namespace gantry::contd::images
