// Importing image archives into the store: a docker-archive (`docker save`:
// manifest.json with Config/RepoTags/Layers, both the Docker 25+ layout
// and the older `<id>/layer.tar` one), an OCI image layout tarball
// (oci-layout, index.json, blobs/sha256/..., nested indexes), or the two in
// one (Docker 25+), which is read as OCI so that digests stay as they were.
//
// The tar stream is read once. Every member goes into an ingest (small
// ones are kept in memory) and is hashed on the way; nothing is committed
// until the whole archive has been read and checked, so a bad archive
// leaves no blob and no image behind. A docker-archive gets a Docker schema
// 2 manifest built for it, as containerd's importer does.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/content/content_store.h"
#include "contd/images/image_store.h"
#include "contd/images/manifest.h"
#include "contd/images/puller.h"
#include "contd/snapshots/snapshotter.h"
#include "contd/v1/images.pb.h"

namespace gantry::contd::images {

struct ImportOptions {
  // A snapshotter name the lookup knows; its default when empty.
  std::string snapshotter;
  // The manifest of an index that is unpacked; the host's when unset.
  std::optional<Platform> platform;
  bool unpack = true;
  // Names the archive's one unnamed image (no RepoTags, no name annotation).
  std::string name;
  // containerd's --base-name: a ref name that is only a tag ("v1") names
  // "<base_name>:v1"; unnamed images are "<base_name>@<digest>". Unnamed
  // images get "import-YYYY-MM-DD@<digest>" without name and base_name.
  std::string base_name;
  // Blobs ("stored", "exists") and layers ("extracting", "done"), as a pull
  // reports them.
  PullProgressFn progress;
  // Polled between steps; true ends the import with CANCELLED, no record.
  std::function<bool()> cancelled;
};

struct ImportedImage {
  v1::Image image;
  bool created = false;  // false: an existing record was pointed elsewhere
};

// The next bytes of the archive; an empty string at its end.
using ArchiveReadFn = std::function<absl::StatusOr<std::string>()>;

// The snapshotter of a name ("" for the default); NOT_FOUND otherwise.
using SnapshotterLookup = std::function<absl::StatusOr<snapshots::Snapshotter*>(absl::string_view)>;

class ImageImporter {
 public:
  ImageImporter(content::ContentStore& content, ImageStore& images, SnapshotterLookup snapshotters)
      : content_(content), images_(images), snapshotters_(std::move(snapshotters)) {}

  // Imports the archive `read` yields into namespace `ns`; returns the
  // images created or updated, by name. INVALID_ARGUMENT naming the member
  // or file for a bad archive: neither manifest.json nor index.json, a
  // member path that is absolute or has "..", a link or a manifest.json
  // path leading outside the archive, a blob whose bytes do not match the
  // digest it is stored under, a blob a manifest lists that the archive
  // (and the content store) lacks. Nothing is committed then. Unpacking
  // happens after the commit, as in a pull: a layer that fails it leaves
  // its blobs, but no record.
  absl::StatusOr<std::vector<ImportedImage>> Import(absl::string_view ns, const ArchiveReadFn& read,
                                                    const ImportOptions& options);

 private:
  content::ContentStore& content_;
  ImageStore& images_;
  const SnapshotterLookup snapshotters_;
};

}  // namespace gantry::contd::images
