#include "contd/unpack/layer_snapshot.h"

#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/log.h"
#include "contd/unpack/layer.h"

namespace gantry::contd::unpack {
namespace {

// Where to write the layer: an overlay's upperdir, or a bind mount's
// source (a base layer, or a native snapshotter's full copy).
absl::StatusOr<std::pair<std::string, Whiteouts>> LayerDir(
    const std::vector<snapshots::Mount>& mounts) {
  if (mounts.size() == 1 && mounts[0].type == "overlay") {
    for (const std::string& o : mounts[0].options) {
      if (absl::StartsWith(o, "upperdir=")) return std::make_pair(o.substr(9), Whiteouts::kOverlay);
    }
  }
  if (mounts.size() == 1 && mounts[0].type == "bind") {
    return std::make_pair(mounts[0].source, Whiteouts::kDelete);
  }
  return absl::UnimplementedError("unpack: snapshot mounts are neither one overlay nor one bind");
}

std::string RandomSuffix() {
  std::random_device random;
  return absl::StrCat(random(), random());
}

}  // namespace

Digest ChainId(const std::optional<Digest>& parent_chain_id, const Digest& diff_id) {
  if (!parent_chain_id.has_value()) return diff_id;
  return Digest::FromBytes(absl::StrCat(parent_chain_id->str(), " ", diff_id.str()));
}

absl::StatusOr<Digest> UnpackLayerSnapshot(snapshots::Snapshotter& snapshotter,
                                           absl::string_view ns,
                                           const std::optional<Digest>& parent_chain_id,
                                           int layer_fd, const Digest& diff_id) {
  const Digest chain_id = ChainId(parent_chain_id, diff_id);
  if (snapshotter.Stat(ns, chain_id.str()).ok()) return chain_id;

  const std::string key = absl::StrCat("extract-", RandomSuffix(), " ", chain_id.str());
  const std::string parent = parent_chain_id.has_value() ? parent_chain_id->str() : "";
  GANTRY_ASSIGN_OR_RETURN(
      std::vector<snapshots::Mount> mounts,
      snapshotter.Prepare(ns, key, parent, {{"gantry.io/snapshot.unpacking", diff_id.str()}}));
  auto abandon = [&](const absl::Status& error) {
    absl::Status removed = snapshotter.Remove(ns, key);
    if (!removed.ok()) log::Warning("unpack: ", removed.message());
    return error;
  };
  absl::StatusOr<std::pair<std::string, Whiteouts>> dir = LayerDir(mounts);
  if (!dir.ok()) return abandon(dir.status());
  absl::StatusOr<Digest> applied = ApplyLayer(layer_fd, dir->first, {dir->second});
  if (!applied.ok()) return abandon(Annotate(applied.status(), diff_id.str()));
  if (!(*applied == diff_id)) {
    return abandon(absl::DataLossError(
        absl::StrCat("layer ", diff_id.str(), ": unpacked content has diff ID ", applied->str())));
  }
  absl::Status committed = snapshotter.Commit(ns, chain_id.str(), key, {});
  // Another unpack of the same layer won the race: its snapshot serves.
  if (absl::IsAlreadyExists(committed)) {
    (void)abandon(absl::OkStatus());
    return chain_id;
  }
  if (!committed.ok()) return abandon(committed);
  return chain_id;
}

}  // namespace gantry::contd::unpack
