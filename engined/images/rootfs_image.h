// `docker import`: a root filesystem tarball (plain, gzip or zstd) made into
// a one-layer image, written as the docker-archive ImageService::Load reads,
// with the image config Docker's import writes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gantry::engined {

struct RootfsImageOptions {
  // The normalized name ("docker.io/library/x:1"); unnamed (dangling) when empty.
  std::string name;
  // Dockerfile instructions applied to the config ("CMD [\"sh\"]", "ENV A=b").
  std::vector<std::string> changes;
  // The history comment; "Imported from -" when empty.
  std::string message;
  absl::Time created;
};

// The archive; INVALID_ARGUMENT for a tarball that cannot be decompressed
// or a change that is not a supported instruction.
absl::StatusOr<std::string> RootfsImageArchive(absl::string_view tarball,
                                               const RootfsImageOptions& options);

// Applies Dockerfile instructions to a container config (Docker's image
// "config"): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR,
// STOPSIGNAL, in JSON or shell form. INVALID_ARGUMENT naming the change.
absl::Status ApplyDockerfileChanges(const std::vector<std::string>& changes,
                                    nlohmann::json& config);

}  // namespace gantry::engined
