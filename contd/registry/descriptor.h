// What the registry client says about a manifest or blob: media type, digest
// and size (the OCI descriptor's core). The content store keeps its own
// richer descriptor; this one is all the distribution API needs.
#pragma once

#include <cstdint>
#include <string>

#include "common/digest.h"

namespace gantry::registry {

inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
};

}  // namespace gantry::registry
