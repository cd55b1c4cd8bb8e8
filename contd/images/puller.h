// Pulling an image through contd: the registry client fetches the manifest
// (and the platform's manifest of an index), the config and the layers into
// the content store, verified; the layers are unpacked in order into a
// snapshotter; and only then does the image record appear or move. From
// the first blob to the record, a lease holds what the pull has written (the
// caller's, or a temporary one deleted at the end), so garbage collection
// running meanwhile leaves it alone; the blobs get containerd's gc.ref labels
// (manifest to config and layers, index to manifest, config to the unpacked
// snapshot), which keep them once the image record does.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/content/content_store.h"
#include "contd/images/image_store.h"
#include "contd/images/manifest.h"
#include "contd/metadata/lease_store.h"
#include "contd/registry/registry_client.h"
#include "contd/snapshots/snapshotter.h"
#include "contd/v1/images.pb.h"

namespace gantry::contd::images {

// Progress of one blob: "downloading" (done/total bytes), "exists" (already
// in the content store), "verifying", "extracting", "done".
struct PullProgress {
  std::string digest;
  std::string media_type;
  std::string status;
  int64_t done = 0;
  int64_t total = 0;
  std::string diff_id;   // layers, from "extracting" on
  std::string chain_id;  // layers, at "done"
};

// Called from the pull's download threads too, so it must be thread-safe.
using PullProgressFn = std::function<void(const PullProgress&)>;

struct PullOptions {
  // A snapshotter name the puller knows; its default when empty.
  std::string snapshotter;
  // The host's when unset.
  std::optional<Platform> platform;
  int parallel = 3;
  bool unpack = true;
  PullProgressFn progress;
  // Polled between steps (after the downloads, before each layer's unpack,
  // before the record): true ends the pull with CANCELLED and no record.
  std::function<bool()> cancelled;
  // A lease of the namespace to hold what the pull writes; when empty the
  // puller makes a temporary one (given a LeaseStore).
  std::string lease;
};

struct PullResult {
  v1::Image image;
  bool created = false;  // false: an existing record was pointed elsewhere
  std::string chain_id;  // the top layer's snapshot ("" without unpack)
};

class ImagePuller {
 public:
  ImagePuller(registry::RegistryClient& registry, content::ContentStore& content,
              ImageStore& images, std::map<std::string, snapshots::Snapshotter*> snapshotters,
              std::string default_snapshotter, metadata::LeaseStore* leases = nullptr)
      : registry_(registry),
        content_(content),
        images_(images),
        snapshotters_(std::move(snapshotters)),
        default_snapshotter_(std::move(default_snapshotter)),
        leases_(leases) {}

  // Pulls `reference` into namespace `ns`. The image is named by the
  // normalized reference ("docker.io/library/busybox:latest"). On any
  // failure no record is created or changed and the error names the blob
  // or layer; verified blobs stay, interrupted downloads stay as ingests
  // that the next pull resumes, and a blob that fails its digest leaves
  // nothing behind.
  absl::StatusOr<PullResult> Pull(absl::string_view ns, absl::string_view reference,
                                  const PullOptions& options);

  // The snapshotter requests that name none unpack into.
  const std::string& default_snapshotter() const { return default_snapshotter_; }

  // The snapshotter of that name ("" for the default); NOT_FOUND otherwise.
  absl::StatusOr<snapshots::Snapshotter*> FindSnapshotter(absl::string_view name) const;

 private:
  // The blob's ingest, its ref and digest leased first; waits while another
  // pull writes it.
  absl::StatusOr<std::unique_ptr<content::ContentWriter>> OpenIngest(absl::string_view ns,
                                                                     const std::string& lease,
                                                                     const std::string& digest,
                                                                     int64_t size);
  // Stores a document the registry client has already verified.
  absl::Status StoreDocument(absl::string_view ns, const std::string& lease,
                             const registry::Manifest& manifest);
  // Adds labels to a blob of the namespace, keeping its others.
  absl::Status AddLabels(absl::string_view ns, const std::string& digest,
                         const std::map<std::string, std::string>& labels);

  registry::RegistryClient& registry_;
  content::ContentStore& content_;
  ImageStore& images_;
  const std::map<std::string, snapshots::Snapshotter*> snapshotters_;
  const std::string default_snapshotter_;
  metadata::LeaseStore* const leases_;
};

// The name a pull gives the image of `ref`: "domain/path:tag" ("latest"
// when the reference has neither tag nor digest), with "@digest" when the
// reference has one.
std::string ImageName(const registry::Reference& ref);

}  // namespace gantry::contd::images
