// The files of an image archive that both the importer and the exporter
// name: an OCI image layout (image-spec, image-layout.md) and the
// docker-archive files `docker save` adds beside it.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "common/digest.h"

namespace gantry::contd::images::archive_layout {

inline constexpr char kOciLayoutFile[] = "oci-layout";
inline constexpr char kOciLayoutVersion[] = "1.0.0";
inline constexpr char kIndexFile[] = "index.json";
inline constexpr char kDockerManifestFile[] = "manifest.json";
inline constexpr char kRepositoriesFile[] = "repositories";
inline constexpr char kBlobsDir[] = "blobs/sha256/";

// Annotations of index.json entries: containerd's full image name, and the
// OCI ref name (the tag, as containerd writes it).
inline constexpr char kImageNameAnnotation[] = "io.containerd.image.name";
inline constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";

// "blobs/sha256/<hex>": where a blob lives in the archive.
inline std::string BlobMember(const Digest& digest) {
  return absl::StrCat(kBlobsDir, digest.hex());
}

}  // namespace gantry::contd::images::archive_layout
