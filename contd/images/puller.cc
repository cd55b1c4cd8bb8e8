#include "contd/images/puller.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/errors.h"
#include "common/log.h"
#include "contd/gc/mark.h"
#include "contd/leases/leased_snapshotter.h"
#include "contd/unpack/layer_snapshot.h"

namespace gantry::contd::images {
namespace {

// A content-store ingest seen by the registry client: a resumed ingest
// offers its bytes for the digest check and gets only the rest.
class IngestSink : public registry::BlobSink {
 public:
  explicit IngestSink(std::unique_ptr<content::ContentWriter> writer)
      : writer_(std::move(writer)) {}
  int64_t offset() const override { return writer_->offset(); }
  absl::Status ReadExisting(const std::function<absl::Status(absl::string_view)>& fn) override {
    return writer_->ReadWritten(fn);
  }
  absl::Status Write(absl::string_view data) override { return writer_->Write(data); }
  content::ContentWriter& writer() { return *writer_; }

 private:
  std::unique_ptr<content::ContentWriter> writer_;
};

// Ingest refs are per blob, so that a retried pull (or another image with
// the same layer) finds and resumes the same ingest.
std::string IngestRef(absl::string_view digest) { return absl::StrCat("pull-", digest); }

absl::StatusOr<registry::Descriptor> ToRegistry(const Descriptor& d) {
  GANTRY_ASSIGN_OR_RETURN(Digest digest, Digest::Parse(d.digest));
  return registry::Descriptor{d.media_type, digest, d.size};
}

// How long a pull waits for another pull that holds a blob's ingest (the
// same layer of two images pulled at once) before giving up.
constexpr absl::Duration kIngestWait = absl::Minutes(10);

// A pull's temporary lease: expires in a day (a contd killed mid-pull
// leaves it to expire), deleted when the pull ends however it ends.
class TemporaryLease {
 public:
  TemporaryLease(metadata::LeaseStore& leases, std::string ns, std::string id)
      : leases_(leases), ns_(std::move(ns)), id_(std::move(id)) {}
  TemporaryLease(const TemporaryLease&) = delete;
  TemporaryLease& operator=(const TemporaryLease&) = delete;
  ~TemporaryLease() {
    absl::Status deleted = leases_.Delete(ns_, id_);
    if (!deleted.ok()) log::Warning("pull: ", deleted.message());
  }

 private:
  metadata::LeaseStore& leases_;
  const std::string ns_;
  const std::string id_;
};

constexpr absl::Duration kTemporaryLeaseExpiry = absl::Hours(24);

// containerd's label on a layer blob: the digest of its uncompressed tar.
constexpr char kUncompressedLabel[] = "containerd.io/uncompressed";

}  // namespace

absl::StatusOr<std::unique_ptr<content::ContentWriter>> ImagePuller::OpenIngest(
    absl::string_view ns, const std::string& lease, const std::string& digest, int64_t size) {
  const absl::Time deadline = absl::Now() + kIngestWait;
  while (true) {
    std::unique_ptr<content::ContentWriter> writer;
    auto open = [&](std::vector<v1::LeaseResource>& made) -> absl::Status {
      made.push_back(metadata::IngestResource(IngestRef(digest)));
      made.push_back(metadata::ContentResource(digest));
      GANTRY_ASSIGN_OR_RETURN(writer, content_.Writer(ns, IngestRef(digest), size, digest));
      return absl::OkStatus();
    };
    std::vector<v1::LeaseResource> unused;
    absl::Status opened =
        leases_ != nullptr ? leases_->CreateLeased(ns, lease, open) : open(unused);
    if (opened.ok()) return writer;
    if (!absl::IsUnavailable(opened) || absl::Now() > deadline) return opened;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::Status ImagePuller::StoreDocument(absl::string_view ns, const std::string& lease,
                                        const registry::Manifest& manifest) {
  const std::string digest = manifest.descriptor.digest.str();
  absl::StatusOr<std::unique_ptr<content::ContentWriter>> writer =
      OpenIngest(ns, lease, digest, manifest.descriptor.size);
  if (absl::IsAlreadyExists(writer.status())) return absl::OkStatus();
  GANTRY_RETURN_IF_ERROR(writer.status());
  GANTRY_RETURN_IF_ERROR((*writer)->Truncate(0));
  GANTRY_RETURN_IF_ERROR((*writer)->Write(manifest.bytes));
  absl::Status committed = (*writer)->Commit(manifest.descriptor.size, digest, {});
  if (absl::IsAlreadyExists(committed)) return absl::OkStatus();
  return committed;
}

absl::Status ImagePuller::AddLabels(absl::string_view ns, const std::string& digest,
                                    const std::map<std::string, std::string>& labels) {
  v1::ContentInfo info;
  info.set_digest(digest);
  google::protobuf::FieldMask mask;
  for (const auto& [key, value] : labels) {
    (*info.mutable_labels())[key] = value;
    mask.add_paths(absl::StrCat("labels.", key));
  }
  return Annotate(content_.Update(ns, info, mask).status(), absl::StrCat("label ", digest));
}

std::string ImageName(const registry::Reference& ref) {
  if (ref.tag().empty() && !ref.digest().has_value()) {
    return ref.WithTag(registry::kDefaultTag).String();
  }
  return ref.String();
}

absl::StatusOr<snapshots::Snapshotter*> ImagePuller::FindSnapshotter(absl::string_view name) const {
  const std::string wanted = name.empty() ? default_snapshotter_ : std::string(name);
  auto it = snapshotters_.find(wanted);
  if (it == snapshotters_.end()) {
    return absl::NotFoundError(absl::StrCat("snapshotter \"", wanted, "\" does not exist"));
  }
  return it->second;
}

absl::StatusOr<PullResult> ImagePuller::Pull(absl::string_view ns, absl::string_view reference,
                                             const PullOptions& options) {
  GANTRY_ASSIGN_OR_RETURN(const registry::Reference ref, registry::Reference::Parse(reference));
  snapshots::Snapshotter* snapshotter = nullptr;
  const std::string snapshotter_name =
      options.snapshotter.empty() ? default_snapshotter_ : options.snapshotter;
  if (options.unpack) {
    GANTRY_ASSIGN_OR_RETURN(snapshotter, FindSnapshotter(options.snapshotter));
  }
  const Platform platform = options.platform.value_or(HostPlatform());
  auto report = [&](PullProgress p) {
    if (options.progress) options.progress(p);
  };
  std::string lease = options.lease;
  std::optional<TemporaryLease> temporary;
  if (leases_ != nullptr && lease.empty()) {
    google::protobuf::Map<std::string, std::string> labels;
    labels[gc::kExpireLabel] = absl::FormatTime(
        absl::RFC3339_full, absl::Now() + kTemporaryLeaseExpiry, absl::UTCTimeZone());
    GANTRY_ASSIGN_OR_RETURN(v1::Lease created, leases_->Create(ns, "", labels));
    lease = created.id();
    temporary.emplace(*leases_, std::string(ns), lease);
  }

  // The top-level document: the image's target.
  absl::StatusOr<registry::Manifest> top = registry_.FetchManifest(ref);
  GANTRY_RETURN_IF_ERROR(Annotate(top.status(), absl::StrCat("manifest of ", ref.String())));
  GANTRY_RETURN_IF_ERROR(Annotate(StoreDocument(ns, lease, *top), "store manifest"));
  registry::Manifest manifest_doc = *top;
  std::map<std::string, std::string> index_labels;
  if (IsIndexMediaType(top->descriptor.media_type)) {
    absl::StatusOr<Index> index = ParseIndex(top->bytes);
    GANTRY_RETURN_IF_ERROR(Annotate(index.status(), top->descriptor.digest.str()));
    absl::StatusOr<Descriptor> selected = SelectManifest(*index, platform);
    GANTRY_RETURN_IF_ERROR(Annotate(selected.status(), top->descriptor.digest.str()));
    GANTRY_ASSIGN_OR_RETURN(Digest digest, Digest::Parse(selected->digest));
    absl::StatusOr<registry::Manifest> fetched = registry_.FetchManifest(ref.WithDigest(digest));
    GANTRY_RETURN_IF_ERROR(
        Annotate(fetched.status(),
                 absl::StrCat("manifest ", selected->digest, " (", FormatPlatform(platform), ")")));
    GANTRY_RETURN_IF_ERROR(Annotate(StoreDocument(ns, lease, *fetched), "store manifest"));
    manifest_doc = *std::move(fetched);
    for (size_t i = 0; i < index->manifests.size(); ++i) {
      if (index->manifests[i].digest == selected->digest) {
        index_labels[absl::StrCat(gc::kRefContentLabel, ".m.", i)] = selected->digest;
      }
    }
  }
  if (!IsManifestMediaType(manifest_doc.descriptor.media_type)) {
    return absl::InvalidArgumentError(
        absl::StrCat(manifest_doc.descriptor.digest.str(), ": media type \"",
                     manifest_doc.descriptor.media_type, "\" is not a manifest or index"));
  }
  absl::StatusOr<Manifest> manifest = ParseManifest(manifest_doc.bytes);
  GANTRY_RETURN_IF_ERROR(Annotate(manifest.status(), manifest_doc.descriptor.digest.str()));

  // Config and layers into the content store; those present are skipped.
  // Each layer is unpacked as soon as it and those below it are stored, while
  // the later ones still download (as dockerd does): `stored` tells the
  // unpacker which blobs it may read.
  std::mutex stored_mu;
  std::condition_variable stored_cv;
  std::set<std::string> stored;
  absl::Status first_error;  // the first failed fetch or commit
  bool fetching = true;
  std::vector<Descriptor> blobs = {manifest->config};
  blobs.insert(blobs.end(), manifest->layers.begin(), manifest->layers.end());
  std::vector<std::unique_ptr<IngestSink>> sinks;
  std::vector<registry::BlobFetch> fetches;
  std::set<std::string> seen;  // an image may list a layer twice
  for (const Descriptor& blob : blobs) {
    if (!seen.insert(blob.digest).second) continue;
    GANTRY_ASSIGN_OR_RETURN(registry::Descriptor wanted, ToRegistry(blob));
    absl::StatusOr<std::unique_ptr<content::ContentWriter>> writer =
        OpenIngest(ns, lease, blob.digest, blob.size);
    if (absl::IsAlreadyExists(writer.status())) {
      report({blob.digest, blob.media_type, "exists", blob.size, blob.size, "", ""});
      stored.insert(blob.digest);
      continue;
    }
    GANTRY_RETURN_IF_ERROR(Annotate(writer.status(), absl::StrCat("ingest ", blob.digest)));
    sinks.push_back(std::make_unique<IngestSink>(*std::move(writer)));
    fetches.push_back({wanted, sinks.back().get()});
  }
  auto check_cancelled = [&]() -> absl::Status {
    if (options.cancelled && options.cancelled()) {
      return absl::CancelledError(absl::StrCat("pull of ", ref.String(), " cancelled"));
    }
    return absl::OkStatus();
  };
  // Waits until `digest` is stored; an error once a fetch failed (that
  // failure is the pull's) or the fetches ended without it.
  auto wait_stored = [&](const std::string& digest) -> absl::Status {
    std::unique_lock lock(stored_mu);
    stored_cv.wait(lock, [&] { return stored.count(digest) || !first_error.ok() || !fetching; });
    if (stored.count(digest)) return absl::OkStatus();
    return absl::AbortedError(absl::StrCat(digest, " was not stored"));
  };

  PullResult result;
  absl::Status unpacked = absl::OkStatus();
  std::thread unpacker;
  if (options.unpack) {
    unpacker = std::thread([&] {
      unpacked = [&]() -> absl::Status {
        GANTRY_RETURN_IF_ERROR(wait_stored(manifest->config.digest));
        GANTRY_ASSIGN_OR_RETURN(
            std::string config_text,
            content_.ReadAt(ns, manifest->config.digest, 0, manifest->config.size));
        absl::StatusOr<ImageConfig> config = ParseImageConfig(config_text);
        GANTRY_RETURN_IF_ERROR(Annotate(config.status(), manifest->config.digest));
        if (config->diff_ids.size() != manifest->layers.size()) {
          return absl::FailedPreconditionError(
              absl::StrCat(manifest_doc.descriptor.digest.str(), ": ", manifest->layers.size(),
                           " layers but the config lists ", config->diff_ids.size(), " diff IDs"));
        }
        snapshots::Snapshotter* unpack_into = snapshotter;
        std::optional<leases::LeasedSnapshotter> leased;
        if (leases_ != nullptr) {
          leased.emplace(*snapshotter, snapshotter_name, *leases_, lease);
          unpack_into = &*leased;
        }
        std::optional<Digest> parent;
        for (size_t i = 0; i < manifest->layers.size(); ++i) {
          const Descriptor& layer = manifest->layers[i];
          const std::string what = absl::StrCat("layer ", i, " ", layer.digest);
          GANTRY_RETURN_IF_ERROR(wait_stored(layer.digest));
          GANTRY_RETURN_IF_ERROR(check_cancelled());
          GANTRY_ASSIGN_OR_RETURN(Digest diff_id, Digest::Parse(config->diff_ids[i]));
          report({layer.digest, layer.media_type, "extracting", layer.size, layer.size,
                  diff_id.str(), ""});
          absl::StatusOr<UniqueFd> fd = content_.OpenBlob(ns, layer.digest);
          GANTRY_RETURN_IF_ERROR(Annotate(fd.status(), what));
          absl::StatusOr<Digest> chain =
              unpack::UnpackLayerSnapshot(*unpack_into, ns, parent, fd->get(), diff_id);
          GANTRY_RETURN_IF_ERROR(Annotate(chain.status(), what));
          report({layer.digest, layer.media_type, "done", layer.size, layer.size, diff_id.str(),
                  chain->str()});
          parent = *chain;
          GANTRY_RETURN_IF_ERROR(
              AddLabels(ns, layer.digest, {{kUncompressedLabel, diff_id.str()}}));
        }
        if (parent.has_value()) {
          result.chain_id = parent->str();
          GANTRY_RETURN_IF_ERROR(AddLabels(
              ns, manifest->config.digest,
              {{absl::StrCat(gc::kRefSnapshotLabel, snapshotter_name), result.chain_id}}));
        }
        return absl::OkStatus();
      }();
    });
  }
  registry_.FetchBlobs(
      ref, fetches,
      [&](const registry::Descriptor& d, int64_t done, int64_t total) {
        report({d.digest.str(), d.media_type, "downloading", done, total, "", ""});
      },
      options.parallel,
      // Commits each blob in the thread that fetched it, so the unpacker
      // can start on it.
      [&](size_t i, const absl::StatusOr<Digest>& fetched) {
        const registry::Descriptor& d = fetches[i].descriptor;
        content::ContentWriter& writer = sinks[i]->writer();
        absl::Status status;
        if (!fetched.ok()) {
          // Bytes that fail their digest are no prefix worth resuming.
          if (absl::IsDataLoss(fetched.status())) (void)writer.Abort();
          status = Annotate(fetched.status(), absl::StrCat("blob ", d.digest.str()));
        } else {
          report({d.digest.str(), d.media_type, "verifying", d.size, d.size, "", ""});
          absl::Status committed = writer.Commit(d.size, d.digest.str(), {});
          if (!committed.ok() && !absl::IsAlreadyExists(committed)) {
            status = Annotate(committed, absl::StrCat("commit blob ", d.digest.str()));
          }
        }
        {
          std::lock_guard lock(stored_mu);
          if (status.ok()) {
            stored.insert(d.digest.str());
          } else if (first_error.ok()) {
            first_error = status;
          }
        }
        stored_cv.notify_all();
      });
  {
    std::lock_guard lock(stored_mu);
    fetching = false;
  }
  stored_cv.notify_all();
  if (unpacker.joinable()) unpacker.join();
  sinks.clear();  // unlocks the ingests a failure left for a resume
  GANTRY_RETURN_IF_ERROR(first_error);
  GANTRY_RETURN_IF_ERROR(check_cancelled());
  GANTRY_RETURN_IF_ERROR(unpacked);
  // containerd's references between the blobs: once the lease is gone they
  // keep what the image record's target leads to.
  std::map<std::string, std::string> manifest_labels = {
      {absl::StrCat(gc::kRefContentLabel, ".config"), manifest->config.digest}};
  for (size_t i = 0; i < manifest->layers.size(); ++i) {
    manifest_labels[absl::StrCat(gc::kRefContentLabel, ".l.", i)] = manifest->layers[i].digest;
  }
  GANTRY_RETURN_IF_ERROR(AddLabels(ns, manifest_doc.descriptor.digest.str(), manifest_labels));
  if (!index_labels.empty()) {
    GANTRY_RETURN_IF_ERROR(AddLabels(ns, top->descriptor.digest.str(), index_labels));
  }

  GANTRY_RETURN_IF_ERROR(check_cancelled());
  v1::Image image;
  image.set_name(ImageName(ref));
  v1::Descriptor* target = image.mutable_target();
  target->set_media_type(top->descriptor.media_type);
  target->set_digest(top->descriptor.digest.str());
  target->set_size(top->descriptor.size);
  absl::StatusOr<v1::Image> created = images_.Create(ns, image);
  if (absl::IsAlreadyExists(created.status())) {
    google::protobuf::FieldMask mask;
    mask.add_paths("target");
    GANTRY_ASSIGN_OR_RETURN(result.image, images_.Update(ns, image, mask));
    return result;
  }
  GANTRY_RETURN_IF_ERROR(Annotate(created.status(), absl::StrCat("image ", image.name())));
  result.image = *std::move(created);
  result.created = true;
  return result;
}

}  // namespace gantry::contd::images
