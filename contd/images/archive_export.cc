#include "contd/images/archive_export.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "contd/images/archive_layout.h"
#include "contd/images/image_resolver.h"
#include "contd/images/puller.h"
#include "contd/registry/reference.h"

namespace gantry::contd::images {
namespace {

using nlohmann::ordered_json;

// The stream goes out in pieces of this size (a gRPC message each).
constexpr size_t kChunkSize = 1 << 20;

struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};

ordered_json DescriptorJson(const Descriptor& d) {
  ordered_json j = {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

// One manifest.json entry: an image as `docker load` reads it.
struct DockerEntry {
  Descriptor config;
  std::vector<Descriptor> layers;
  std::vector<std::string> repo_tags;
};

// What the archive holds, gathered from the content store before writing.
class ExportPlan {
 public:
  ExportPlan(content::ContentStore& content, absl::string_view ns, const ExportOptions& options)
      : content_(content), ns_(ns), options_(options) {}

  // Adds an image: its target's blobs, an index.json entry and (for the
  // manifest of the platform) a manifest.json entry.
  absl::Status AddImage(const v1::Image& image) {
    Descriptor target{image.target().media_type(),
                      image.target().digest(),
                      image.target().size(),
                      {image.target().annotations().begin(), image.target().annotations().end()},
                      {},
                      {}};
    absl::StatusOr<Descriptor> manifest = AddTarget(target, 0);
    GANTRY_RETURN_IF_ERROR(Annotate(manifest.status(), absl::StrCat("image ", image.name())));
    absl::StatusOr<registry::Reference> ref = registry::Reference::Parse(image.name());
    target.annotations[archive_layout::kImageNameAnnotation] = image.name();
    if (ref.ok()) {
      // containerd's ref name: the reference's object ("latest", "@sha256:...").
      std::string object = ref->tag();
      if (ref->digest().has_value()) absl::StrAppend(&object, "@", ref->digest()->str());
      target.annotations[archive_layout::kRefNameAnnotation] = object;
    }
    index_.push_back(DescriptorJson(target));

    auto [entry, inserted] = docker_entries_.try_emplace(manifest->digest);
    if (inserted) {
      docker_order_.push_back(manifest->digest);
      GANTRY_ASSIGN_OR_RETURN(std::string text, ReadDocument(content_, ns_, *manifest));
      GANTRY_ASSIGN_OR_RETURN(Manifest parsed, ParseManifest(text));
      entry->second.config = parsed.config;
      entry->second.layers = parsed.layers;
    }
    // `docker load` takes tagged names only.
    if (ref.ok() && !ref->tag().empty()) {
      const std::string tagged = ref->WithTag(ref->tag()).FamiliarString();
      entry->second.repo_tags.push_back(tagged);
      const registry::Reference repo = ref->WithTag("");
      if (!entry->second.layers.empty()) {
        repositories_[repo.FamiliarString()][ref->tag()] =
            Digest::Parse(entry->second.layers.back().digest)->hex();
      }
    }
    return absl::OkStatus();
  }

  const std::vector<Descriptor>& blobs() const { return blobs_; }

  std::string IndexJson() const {
    return ordered_json{
        {"schemaVersion", 2}, {"mediaType", media_types::kOciIndex}, {"manifests", index_}}
        .dump();
  }

  std::string DockerManifestJson() const {
    ordered_json entries = ordered_json::array();
    for (const std::string& digest : docker_order_) {
      const DockerEntry& entry = docker_entries_.at(digest);
      ordered_json layers = ordered_json::array();
      for (const Descriptor& layer : entry.layers) layers.push_back(MemberOf(layer));
      entries.push_back(
          {{"Config", MemberOf(entry.config)}, {"RepoTags", entry.repo_tags}, {"Layers", layers}});
    }
    return entries.dump();
  }

  std::string RepositoriesJson() const { return ordered_json(repositories_).dump(); }

 private:
  static std::string MemberOf(const Descriptor& d) {
    return archive_layout::BlobMember(*Digest::Parse(d.digest));
  }

  // Adds a blob once, checking that the content store has it, of its size.
  absl::Status AddBlob(const Descriptor& d) {
    absl::StatusOr<v1::ContentInfo> info = content_.Info(ns_, d.digest);
    if (absl::IsNotFound(info.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat(d.media_type, " ", d.digest, " is not in the content store"));
    }
    GANTRY_RETURN_IF_ERROR(info.status());
    if (info->size() != d.size) {
      return absl::FailedPreconditionError(absl::StrCat(d.digest, ": the descriptor says ", d.size,
                                                        " bytes, the content store has ",
                                                        info->size()));
    }
    if (seen_.insert(d.digest).second) blobs_.push_back(d);
    return absl::OkStatus();
  }

  // Adds the target's blobs and returns the manifest the platform runs.
  absl::StatusOr<Descriptor> AddTarget(const Descriptor& d, int depth) {
    if (IsManifestMediaType(d.media_type)) {
      GANTRY_RETURN_IF_ERROR(AddBlob(d));
      GANTRY_ASSIGN_OR_RETURN(std::string text, ReadDocument(content_, ns_, d));
      absl::StatusOr<Manifest> manifest = ParseManifest(text);
      GANTRY_RETURN_IF_ERROR(Annotate(manifest.status(), d.digest));
      GANTRY_RETURN_IF_ERROR(AddBlob(manifest->config));
      for (const Descriptor& layer : manifest->layers) GANTRY_RETURN_IF_ERROR(AddBlob(layer));
      return d;
    }
    if (!IsIndexMediaType(d.media_type)) {
      return absl::InvalidArgumentError(
          absl::StrCat(d.digest, ": media type \"", d.media_type, "\" is not a manifest or index"));
    }
    if (depth == kMaxIndexDepth) {
      return absl::FailedPreconditionError(
          absl::StrCat(d.digest, ": indexes nested more than ", kMaxIndexDepth, " deep"));
    }
    GANTRY_RETURN_IF_ERROR(AddBlob(d));
    GANTRY_ASSIGN_OR_RETURN(std::string text, ReadDocument(content_, ns_, d));
    absl::StatusOr<Index> index = ParseIndex(text);
    GANTRY_RETURN_IF_ERROR(Annotate(index.status(), d.digest));
    const Platform platform = options_.platform.value_or(HostPlatform());
    absl::StatusOr<Descriptor> selected = SelectManifest(*index, platform);
    if (!options_.all_platforms) {
      GANTRY_RETURN_IF_ERROR(Annotate(selected.status(), d.digest));
      return AddTarget(*selected, depth + 1);
    }
    // Every platform; manifest.json still names the one of `platform`
    // (or, without it, the first).
    std::optional<Descriptor> chosen;
    for (const Descriptor& child : index->manifests) {
      absl::StatusOr<Descriptor> manifest = AddTarget(child, depth + 1);
      GANTRY_RETURN_IF_ERROR(Annotate(manifest.status(), absl::StrCat("index ", d.digest)));
      if (!chosen.has_value() || (selected.ok() && child.digest == selected->digest)) {
        chosen = *manifest;
      }
    }
    if (!chosen.has_value()) {
      return absl::FailedPreconditionError(absl::StrCat("index ", d.digest, " lists no manifest"));
    }
    return *chosen;
  }

  content::ContentStore& content_;
  const absl::string_view ns_;
  const ExportOptions& options_;
  std::vector<Descriptor> blobs_;
  std::set<std::string> seen_;
  ordered_json index_ = ordered_json::array();
  std::map<std::string, DockerEntry> docker_entries_;  // by manifest digest
  std::vector<std::string> docker_order_;
  std::map<std::string, std::map<std::string, std::string>> repositories_;
};

// A tar stream written with libarchive and handed out in kChunkSize pieces.
class TarStream {
 public:
  explicit TarStream(const ArchiveWriteFn& write) : write_(write), archive_(archive_write_new()) {}

  absl::Status Open() {
    if (archive_ == nullptr) return absl::ResourceExhaustedError("archive_write_new failed");
    archive_write_set_format_pax_restricted(archive_.get());
    archive_write_set_bytes_in_last_block(archive_.get(), 1);
    if (archive_write_open(archive_.get(), this, nullptr, &TarStream::Append, nullptr) !=
        ARCHIVE_OK) {
      return Error("open");
    }
    return absl::OkStatus();
  }

  absl::Status AddDirectory(const std::string& name) {
    return WriteHeader(name, AE_IFDIR, 0755, 0);
  }

  absl::Status AddFile(const std::string& name, absl::string_view data) {
    GANTRY_RETURN_IF_ERROR(WriteHeader(name, AE_IFREG, 0644, static_cast<int64_t>(data.size())));
    return WriteData(name, data);
  }

  // The blob's bytes from the content store, checked against its digest
  // on the way: a blob corrupted on disk is not exported as if it were good.
  absl::Status AddBlob(content::ContentStore& content, absl::string_view ns, const Descriptor& d) {
    GANTRY_ASSIGN_OR_RETURN(const Digest digest, Digest::Parse(d.digest));
    const std::string name = archive_layout::BlobMember(digest);
    absl::StatusOr<UniqueFd> fd = content.OpenBlob(ns, d.digest);
    GANTRY_RETURN_IF_ERROR(Annotate(fd.status(), absl::StrCat("blob ", d.digest)));
    GANTRY_RETURN_IF_ERROR(WriteHeader(name, AE_IFREG, 0444, d.size));
    Sha256 hash;
    std::string buffer(kChunkSize, '\0');
    int64_t done = 0;
    while (done < d.size) {
      const ssize_t n = ::read(fd->get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LastErrno(absl::StrCat("read blob ", d.digest));
      if (n == 0) break;
      const absl::string_view piece(buffer.data(),
                                    static_cast<size_t>(std::min<int64_t>(n, d.size - done)));
      hash.Update(piece);
      GANTRY_RETURN_IF_ERROR(WriteData(name, piece));
      done += static_cast<int64_t>(piece.size());
    }
    const std::string actual = absl::StrCat("sha256:", hash.FinishHex());
    if (done != d.size || actual != d.digest) {
      return absl::DataLossError(absl::StrCat("blob ", d.digest, " in the content store has ", done,
                                              " bytes of digest ", actual));
    }
    return absl::OkStatus();
  }

  absl::Status Close() {
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) return Error("close");
    return Flush();
  }

 private:
  static la_ssize_t Append(archive* a, void* opaque, const void* data, size_t size) {
    auto* self = static_cast<TarStream*>(opaque);
    self->pending_.append(static_cast<const char*>(data), size);
    if (self->pending_.size() >= kChunkSize) {
      self->status_ = self->Flush();
      if (!self->status_.ok()) {
        archive_set_error(a, EIO, "%s", std::string(self->status_.message()).c_str());
        return -1;
      }
    }
    return static_cast<la_ssize_t>(size);
  }

  absl::Status Flush() {
    if (pending_.empty()) return absl::OkStatus();
    absl::Status written = write_(pending_);
    pending_.clear();
    return written;
  }

  absl::Status WriteHeader(const std::string& name, unsigned type, int mode, int64_t size) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(),
                                                                   archive_entry_free);
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), type);
    archive_entry_set_perm(entry.get(), static_cast<mode_t>(mode));
    archive_entry_set_size(entry.get(), size);
    if (archive_write_header(archive_.get(), entry.get()) != ARCHIVE_OK) return Error(name);
    return absl::OkStatus();
  }

  absl::Status WriteData(const std::string& name, absl::string_view data) {
    if (data.empty()) return absl::OkStatus();
    if (archive_write_data(archive_.get(), data.data(), data.size()) !=
        static_cast<la_ssize_t>(data.size())) {
      return Error(name);
    }
    return absl::OkStatus();
  }

  // The write callback's own error (the client went away) before
  // libarchive's.
  absl::Status Error(absl::string_view what) {
    if (!status_.ok()) return status_;
    const char* why = archive_error_string(archive_.get());
    return absl::InternalError(
        absl::StrCat("export archive: ", what, ": ", why != nullptr ? why : "write failed"));
  }

  const ArchiveWriteFn& write_;
  std::unique_ptr<archive, ArchiveWriteDeleter> archive_;
  std::string pending_;
  absl::Status status_;
};

}  // namespace

absl::Status ImageExporter::Export(absl::string_view ns, const std::vector<std::string>& names,
                                   const ExportOptions& options, const ArchiveWriteFn& write) {
  if (names.empty()) return absl::InvalidArgumentError("export: no image named");
  ExportPlan plan(content_, ns, options);
  std::set<std::string> exported;
  for (const std::string& name : names) {
    absl::StatusOr<v1::Image> image = images_.Get(ns, name);
    if (absl::IsNotFound(image.status())) {
      // "busybox" for "docker.io/library/busybox:latest", as a pull names it.
      absl::StatusOr<registry::Reference> ref = registry::Reference::Parse(name);
      if (ref.ok()) {
        absl::StatusOr<v1::Image> normalized = images_.Get(ns, ImageName(*ref));
        if (normalized.ok()) image = std::move(normalized);
      }
    }
    GANTRY_RETURN_IF_ERROR(image.status());
    if (!exported.insert(image->name()).second) continue;  // named twice
    GANTRY_RETURN_IF_ERROR(plan.AddImage(*image));
  }

  TarStream tar(write);
  GANTRY_RETURN_IF_ERROR(tar.Open());
  GANTRY_RETURN_IF_ERROR(tar.AddDirectory("blobs/"));
  GANTRY_RETURN_IF_ERROR(tar.AddDirectory(archive_layout::kBlobsDir));
  for (const Descriptor& blob : plan.blobs())
    GANTRY_RETURN_IF_ERROR(tar.AddBlob(content_, ns, blob));
  GANTRY_RETURN_IF_ERROR(tar.AddFile(archive_layout::kIndexFile, plan.IndexJson()));
  GANTRY_RETURN_IF_ERROR(
      tar.AddFile(archive_layout::kDockerManifestFile, plan.DockerManifestJson()));
  GANTRY_RETURN_IF_ERROR(
      tar.AddFile(archive_layout::kOciLayoutFile,
                  ordered_json{{"imageLayoutVersion", archive_layout::kOciLayoutVersion}}.dump()));
  GANTRY_RETURN_IF_ERROR(tar.AddFile(archive_layout::kRepositoriesFile, plan.RepositoriesJson()));
  return tar.Close();
}

}  // namespace gantry::contd::images
