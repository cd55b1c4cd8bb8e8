// Images as the Docker API shows them, kept in contd: a name is a contd
// image record ("docker.io/library/busybox:latest"), and an image's ID is
// its config digest, as Docker's with the containerd image store.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contd/images/image_resolver.h"
#include "engined/contd/contd_client.h"
#include "engined/daemon/event_hub.h"
#include "engined/images/rootfs_image.h"

namespace gantry::engined {

struct ImageDetails {
  std::string id;  // "sha256:<config digest>"
  // The normalized names pointing at it ("docker.io/library/busybox:latest");
  // none for a dangling image.
  std::vector<std::string> names;
  // Every contd record of the image: its names and its dangling record.
  std::vector<std::string> records;
  contd::v1::Descriptor target;
  contd::images::ResolvedImage resolved;
  absl::Time created;  // the config's, else the record's
  int64_t size = 0;    // layers as stored (compressed)
};

// An image without names keeps its content under a record of this
// repository ("...moby-dangling@sha256:<manifest>"), as Docker's containerd
// image store does; such a record is not one of the image's names.
inline constexpr char kDanglingRepository[] = "docker.io/library/moby-dangling";
bool IsDanglingRecord(absl::string_view record_name);

// What `docker load` loaded: the image's ID, and its name
// ("docker.io/library/busybox:latest"), empty when the archive leaves it
// unnamed.
struct LoadedImage {
  std::string name;
  std::string id;
};

// A container that uses an image.
struct ImageUser {
  std::string container_id;
  bool running = false;
};
// The container (a running one first) that uses an image ID, if any.
using ImageUserFn = std::function<std::optional<ImageUser>(const std::string& image_id)>;

// What a prune removed: Docker's Untagged/Deleted records, and the bytes of
// the deleted images.
struct PruneReport {
  nlohmann::json deleted = nlohmann::json::array();
  int64_t space_reclaimed = 0;
};

// "docker.io/library/busybox:latest" -> "busybox:latest", as Docker prints
// names (reference.FamiliarString).
std::string FamiliarName(absl::string_view normalized);
// A user's image reference normalized, with ":latest" when it has neither
// tag nor digest. INVALID_ARGUMENT naming the reference.
absl::StatusOr<std::string> NormalizeImageName(absl::string_view reference);

class ImageService {
 public:
  // Image events (pull, tag, untag, delete, load, import, save, prune) go
  // to `events`, as dockerd's.
  ImageService(ContdClient& contd, EventHub& events) : contd_(contd), events_(events) {}

  // By name ("busybox", "busybox:1", "host:5000/x@sha256:..."), by full ID
  // or by an unambiguous ID prefix (12 hex digits or more... any length, as
  // Docker). NOT_FOUND "No such image: <ref>".
  absl::StatusOr<ImageDetails> Find(absl::string_view reference);
  // The image's config document as stored (Docker's image JSON).
  absl::StatusOr<nlohmann::json> ConfigJson(const ImageDetails& image);
  // Every image, one entry per ID, newest first.
  absl::StatusOr<std::vector<ImageDetails>> List();

  // Pulls through contd, reporting Docker's JSON progress messages (the
  // docker CLI draws them as bars) to `progress`.
  absl::Status Pull(absl::string_view reference,
                    const std::function<void(const nlohmann::json&)>& progress);
  // Pushes the image `reference` names to its registry through contd,
  // reporting Docker's JSON progress messages.
  absl::Status Push(absl::string_view reference,
                    const std::function<void(const nlohmann::json&)>& progress);
  // Points `target_reference` at the image `source` names.
  absl::Status Tag(absl::string_view source, absl::string_view target_reference);
  // Removes a name; by ID (or the last name), the image: Docker's
  // [{"Untagged": ...}, {"Deleted": ...}] records. An image a container
  // uses (`user`) is a conflict without force; with force a stopped
  // container's image is deleted, and a running container's is untagged
  // and kept dangling by name, a conflict by ID.
  absl::StatusOr<nlohmann::json> Remove(absl::string_view reference, bool force,
                                        const ImageUserFn& user);
  // Removes the `selected` images no container uses, as `docker image prune`.
  absl::StatusOr<PruneReport> Prune(const std::function<bool(const ImageDetails&)>& selected,
                                    const ImageUserFn& user);

  // The contd record names `docker save` exports for references (names,
  // IDs); NOT_FOUND for the first that names no image.
  absl::StatusOr<std::vector<std::string>> ExportNames(const std::vector<std::string>& references);
  // Streams contd's archive of the images `names` (ExportNames) to `write`:
  // a docker-archive that is also an OCI layout. Stops when `write` fails.
  absl::Status Export(const std::vector<std::string>& names,
                      const std::function<absl::Status(absl::string_view)>& write);
  // Imports a `docker save` archive (or an OCI layout) into contd, unpacked;
  // unnamed images are kept as dangling ones.
  absl::StatusOr<std::vector<LoadedImage>> Load(const std::string& archive);
  // `docker import`: the root filesystem `tarball` as a one-layer image
  // (RootfsImageArchive) loaded into contd; its ID.
  absl::StatusOr<std::string> ImportRootfs(absl::string_view tarball,
                                           const RootfsImageOptions& options);

 private:
  // Untags and removes `image` (found for `reference`).
  absl::StatusOr<nlohmann::json> RemoveImage(const ImageDetails& image, absl::string_view reference,
                                             bool force, const ImageUserFn& user);
  absl::StatusOr<ImageDetails> Details(const contd::v1::Image& record);
  // The target resolved to the host's manifest, config and chain IDs. Kept
  // by target digest: content is immutable, so listing images (which every
  // create and name lookup does) reads each image's documents once, not on
  // every request.
  absl::StatusOr<contd::images::ResolvedImage> Resolve(const contd::v1::Descriptor& target);
  // Keeps the images of `before` that a tag, pull or load took the last
  // name of, as dangling images (Docker's <none>:<none>), not lost.
  absl::Status KeepDangling(const std::vector<ImageDetails>& before);
  // The image's dangling record, made when it has none.
  absl::StatusOr<std::string> DanglingRecord(const ImageDetails& image);
  absl::StatusOr<std::vector<contd::v1::Image>> Records();

  // An image event, named as Docker names it ("busybox:latest").
  void Publish(const std::string& action, const std::string& id, const std::string& name);

  std::mutex resolved_mu_;
  std::map<std::string, contd::images::ResolvedImage> resolved_;
  ContdClient& contd_;
  EventHub& events_;
};

}  // namespace gantry::engined
