// Image layers as committed snapshots: each layer is unpacked into an active
// snapshot on top of the previous layer's and committed under its chain ID,
// so that images sharing a base share its snapshots (OCI image spec,
// "ChainID").
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/digest.h"
#include "contd/snapshots/snapshotter.h"

namespace gantry::contd::unpack {

// ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256("<ChainID(Ln-1)> <DiffID(Ln)>").
Digest ChainId(const std::optional<Digest>& parent_chain_id, const Digest& diff_id);

// Unpacks the layer read from `layer_fd` on top of the committed snapshot
// `parent_chain_id` (none for the first layer) and commits it as its chain
// ID, unless a snapshot of that name exists already. Returns the chain ID.
// When the layer is not the one `diff_id` names, or any entry is refused,
// the snapshot is removed and the error returned.
absl::StatusOr<Digest> UnpackLayerSnapshot(snapshots::Snapshotter& snapshotter,
                                           absl::string_view ns,
                                           const std::optional<Digest>& parent_chain_id,
                                           int layer_fd, const Digest& diff_id);

}  // namespace gantry::contd::unpack
