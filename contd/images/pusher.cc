#include "contd/images/pusher.h"

#include <unistd.h>

#include <cerrno>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "contd/images/manifest.h"

namespace gantry::contd::images {
namespace {

// A committed blob read for an upload.
class ContentBlobSource : public registry::BlobSource {
 public:
  ContentBlobSource(UniqueFd fd, int64_t size) : fd_(std::move(fd)), size_(size) {}
  int64_t size() const override { return size_; }
  absl::StatusOr<size_t> ReadAt(int64_t offset, char* buf, size_t n) override {
    while (true) {
      const ssize_t got = ::pread(fd_.get(), buf, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return LastErrno("read blob");
      return static_cast<size_t>(got);
    }
  }

 private:
  UniqueFd fd_;
  int64_t size_;
};

struct PushContext {
  registry::RegistryClient& client;
  content::ContentStore& content;
  absl::string_view ns;
  const registry::Reference& dest;
  // The source repository's path when it is on the destination's registry.
  std::string mount_from;
  const PushProgressFn& progress;

  void Report(const Descriptor& d, const char* status) const {
    if (progress) progress({d.digest, d.media_type, status, d.size});
  }

  absl::Status PushBlob(const Descriptor& d) const {
    GANTRY_ASSIGN_OR_RETURN(Digest digest, Digest::Parse(d.digest));
    absl::StatusOr<UniqueFd> fd = content.OpenBlob(ns, d.digest);
    GANTRY_RETURN_IF_ERROR(Annotate(fd.status(), absl::StrCat("blob ", d.digest)));
    ContentBlobSource source(*std::move(fd), d.size);
    Report(d, "pushing");
    registry::PushBlobOptions options;
    options.mount_from = mount_from;
    GANTRY_RETURN_IF_ERROR(Annotate(
        client.PushBlob(dest, registry::Descriptor{d.media_type, digest, d.size}, source, options),
        absl::StrCat("push blob ", d.digest)));
    Report(d, "pushed");
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Read(const Descriptor& d) const {
    absl::StatusOr<std::string> bytes = content.ReadAt(ns, d.digest, 0, d.size);
    GANTRY_RETURN_IF_ERROR(Annotate(bytes.status(), absl::StrCat(d.media_type, " ", d.digest)));
    return bytes;
  }

  // Config and layers, then the manifest itself under `ref`.
  absl::Status PushManifest(const Descriptor& d, const registry::Reference& ref) const {
    GANTRY_ASSIGN_OR_RETURN(std::string bytes, Read(d));
    absl::StatusOr<Manifest> manifest = ParseManifest(bytes);
    GANTRY_RETURN_IF_ERROR(Annotate(manifest.status(), d.digest));
    GANTRY_RETURN_IF_ERROR(PushBlob(manifest->config));
    for (const Descriptor& layer : manifest->layers) GANTRY_RETURN_IF_ERROR(PushBlob(layer));
    return PutManifest(d, ref, bytes);
  }

  absl::Status PutManifest(const Descriptor& d, const registry::Reference& ref,
                           const std::string& bytes) const {
    Report(d, "pushing");
    absl::StatusOr<Digest> pushed = client.PushManifest(ref, d.media_type, bytes);
    GANTRY_RETURN_IF_ERROR(Annotate(pushed.status(), absl::StrCat("push manifest ", d.digest)));
    if (pushed->str() != d.digest) {
      return absl::DataLossError(
          absl::StrCat("push manifest ", d.digest, ": the registry stored ", pushed->str()));
    }
    Report(d, "pushed");
    return absl::OkStatus();
  }
};

}  // namespace

absl::StatusOr<std::string> ImagePusher::Push(absl::string_view ns, absl::string_view name,
                                              absl::string_view reference,
                                              const PushProgressFn& progress) {
  GANTRY_ASSIGN_OR_RETURN(const v1::Image image, images_.Get(ns, name));
  GANTRY_ASSIGN_OR_RETURN(const registry::Reference dest,
                          registry::Reference::Parse(reference.empty() ? name : reference));
  PushContext push{registry_, content_, ns, dest, "", progress};
  absl::StatusOr<registry::Reference> source = registry::Reference::Parse(image.name());
  if (source.ok() && source->domain() == dest.domain() && source->path() != dest.path()) {
    push.mount_from = source->path();
  }
  const Descriptor target{
      image.target().media_type(), image.target().digest(), image.target().size(), {}, {}, {}};
  const registry::Reference tagged =
      dest.tag().empty() && !dest.digest().has_value() ? dest.WithTag(registry::kDefaultTag) : dest;
  if (IsIndexMediaType(target.media_type)) {
    GANTRY_ASSIGN_OR_RETURN(std::string bytes, push.Read(target));
    absl::StatusOr<Index> index = ParseIndex(bytes);
    GANTRY_RETURN_IF_ERROR(Annotate(index.status(), target.digest));
    for (const Descriptor& child : index->manifests) {
      // A pull fetches one platform's manifest; the others are not here to
      // push, and registries refuse an index whose manifests they lack.
      if (!content_.Info(ns, child.digest).ok()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "image ", name, ": index ", target.digest, " lists manifest ", child.digest,
            " that the content store does not have (pulled for one platform only?)"));
      }
      GANTRY_ASSIGN_OR_RETURN(Digest digest, Digest::Parse(child.digest));
      GANTRY_RETURN_IF_ERROR(push.PushManifest(child, dest.WithDigest(digest)));
    }
    GANTRY_RETURN_IF_ERROR(push.PutManifest(target, tagged, bytes));
  } else {
    GANTRY_RETURN_IF_ERROR(push.PushManifest(target, tagged));
  }
  return target.digest;
}

}  // namespace gantry::contd::images
