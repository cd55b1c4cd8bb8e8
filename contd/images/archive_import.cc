#include "contd/images/archive_import.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/digest.h"
#include "common/errors.h"
#include "common/json_util.h"
#include "contd/gc/mark.h"
#include "contd/images/archive_layout.h"
#include "contd/images/image_resolver.h"
#include "contd/images/image_unpacker.h"
#include "contd/registry/reference.h"

namespace gantry::contd::images {
namespace {

constexpr size_t kReadBlock = 1 << 20;
// Members up to this size are kept in memory (configs, manifests, the
// docker-archive's small files), up to kMemoryLimit in all; larger ones go
// to an ingest each.
constexpr int64_t kMemoryMember = 1 << 20;
constexpr int64_t kMemoryLimit = 64 << 20;
// Symlinks to symlinks, as docker 20.10 writes for a layer shared by images.
constexpr int kMaxLinkDepth = 8;
// The bytes of a layer that tell its compression.
constexpr size_t kHeadSize = 8;

absl::Status BadArchive(absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("archive: ", what, ": ", why));
}

std::string Quoted(absl::string_view path) { return absl::StrCat("\"", path, "\""); }

// A member's name relative to the archive's root, without "." components.
// Absolute names and ".." are refused: no reader of the archive must be
// able to take one as a path outside it.
absl::StatusOr<std::string> MemberPath(absl::string_view raw) {
  if (absl::StartsWith(raw, "/")) {
    return BadArchive(absl::StrCat("member ", Quoted(raw)), "absolute path refused");
  }
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(raw, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      return BadArchive(absl::StrCat("member ", Quoted(raw)), "path with \"..\" refused");
    }
    parts.push_back(part);
  }
  return absl::StrJoin(parts, "/");
}

// `target` (a symlink's target, a manifest.json path) taken relative to
// the directory `dir` of the archive; ".." may climb to the root but not
// beyond it.
absl::StatusOr<std::string> PathInArchive(absl::string_view dir, absl::string_view target,
                                          absl::string_view what) {
  if (absl::StartsWith(target, "/")) {
    return BadArchive(what, absl::StrCat("absolute path ", Quoted(target), " refused"));
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(dir, '/', absl::SkipEmpty())) {
    parts.emplace_back(part);
  }
  for (absl::string_view part : absl::StrSplit(target, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part != "..") {
      parts.emplace_back(part);
    } else if (parts.empty()) {
      return BadArchive(what, absl::StrCat("path ", Quoted(target), " leads outside the archive"));
    } else {
      parts.pop_back();
    }
  }
  return absl::StrJoin(parts, "/");
}

std::string DirOf(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? "" : std::string(path.substr(0, slash));
}

// "name" normalized as a pull names images ("busybox" ->
// "docker.io/library/busybox:latest").
absl::StatusOr<std::string> NormalizedName(absl::string_view name, absl::string_view what) {
  absl::StatusOr<registry::Reference> ref = registry::Reference::Parse(name);
  if (!ref.ok()) return BadArchive(what, ref.status().message());
  return ImageName(*ref);
}

std::string RandomHex() {
  std::random_device random;
  return absl::StrFormat("%08x%08x", random(), random());
}

// One regular file of the archive, hashed while it was read. Its bytes are
// in memory, in an ingest (aborted unless committed), or, for a
// blobs/sha256/ member the content store has already, not kept at all.
struct Member {
  Member() = default;
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;
  ~Member() {
    if (writer != nullptr) (void)writer->Abort();
  }

  std::string path;
  int64_t size = 0;
  std::string digest;  // "sha256:<hex>"
  std::string head;    // the first kHeadSize bytes
  std::string bytes;
  std::unique_ptr<content::ContentWriter> writer;
  bool in_store = false;

  // The whole member, for documents; INVALID_ARGUMENT beyond `limit`.
  absl::StatusOr<std::string> Read(content::ContentStore& content, absl::string_view ns,
                                   int64_t limit) const {
    if (size > limit) {
      return BadArchive(
          Quoted(path),
          absl::StrCat(size, " bytes is more than a document may have (", limit, ")"));
    }
    if (in_store) return content.ReadAt(ns, digest, 0, size);
    if (writer == nullptr) return bytes;
    std::string text;
    GANTRY_RETURN_IF_ERROR(writer->ReadWritten([&](absl::string_view piece) {
      text.append(piece.data(), piece.size());
      return absl::OkStatus();
    }));
    return text;
  }
};

// The archive's bytes pulled by libarchive from the caller's stream.
struct StreamSource {
  const ArchiveReadFn& read;
  std::string chunk;
  absl::Status status;
};

la_ssize_t ReadChunk(archive* a, void* opaque, const void** out) {
  auto* source = static_cast<StreamSource*>(opaque);
  absl::StatusOr<std::string> next = source->read();
  if (!next.ok()) {
    source->status = next.status();
    archive_set_error(a, EIO, "%s", std::string(next.status().message()).c_str());
    return -1;
  }
  source->chunk = *std::move(next);
  *out = source->chunk.data();
  return static_cast<la_ssize_t>(source->chunk.size());
}

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

// A blob the imported images need, and where its bytes are.
struct NeededBlob {
  Descriptor descriptor;
  const Member* member = nullptr;  // null: in the content store already
};

// An image the archive names (or leaves unnamed: name empty).
struct Entry {
  Descriptor target;
  std::string name;
};

// One import: the archive's members, then what its images need.
class ArchiveImport {
 public:
  ArchiveImport(content::ContentStore& content, absl::string_view ns, const ImportOptions& options)
      : content_(content),
        ns_(ns),
        options_(options),
        platform_(options.platform.value_or(HostPlatform())),
        ref_prefix_(absl::StrCat("import-", RandomHex(), "-")) {}

  absl::Status ReadArchive(const ArchiveReadFn& read) {
    std::unique_ptr<archive, ArchiveReadDeleter> a(archive_read_new());
    if (a == nullptr) return absl::ResourceExhaustedError("archive_read_new failed");
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_zstd(a.get());
    StreamSource source{read, {}, absl::OkStatus()};
    auto failed = [&](absl::string_view what) -> absl::Status {
      if (!source.status.ok()) return source.status;
      const char* why = archive_error_string(a.get());
      return BadArchive(what, why != nullptr ? why : "not a tar stream");
    };
    if (archive_read_open(a.get(), &source, nullptr, &ReadChunk, nullptr) != ARCHIVE_OK) {
      return failed("open");
    }
    while (true) {
      archive_entry* entry = nullptr;
      const int r = archive_read_next_header(a.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return failed("read");
      const char* raw = archive_entry_pathname(entry);
      GANTRY_ASSIGN_OR_RETURN(const std::string path, MemberPath(raw != nullptr ? raw : ""));
      if (path.empty()) continue;  // the root itself
      const std::string what = absl::StrCat("member ", Quoted(path));
      // A later member of the same name replaces an earlier one, as tar does.
      if (const char* target = archive_entry_hardlink(entry)) {
        members_.erase(path);
        GANTRY_ASSIGN_OR_RETURN(links_[path], PathInArchive("", target, what));
        continue;
      }
      switch (archive_entry_filetype(entry)) {
        case AE_IFLNK: {
          const char* target = archive_entry_symlink(entry);
          members_.erase(path);
          GANTRY_ASSIGN_OR_RETURN(
              links_[path], PathInArchive(DirOf(path), target != nullptr ? target : "", what));
          break;
        }
        case AE_IFREG: {
          absl::StatusOr<std::unique_ptr<Member>> member = ReadMember(a.get(), entry, path);
          if (!member.ok()) return source.status.ok() ? member.status() : source.status;
          links_.erase(path);
          members_[path] = *std::move(member);
          break;
        }
        default:
          break;  // directories and the rest say nothing about images
      }
      if (cancelled()) return Cancelled();
    }
    return absl::OkStatus();
  }

  // The images of the archive: OCI when it has an OCI layout (the Docker
  // 25+ format too), docker-archive otherwise.
  absl::StatusOr<std::vector<Entry>> Entries() {
    const bool oci = Find(archive_layout::kOciLayoutFile) != nullptr ||
                     (Find(archive_layout::kIndexFile) != nullptr &&
                      Find(archive_layout::kDockerManifestFile) == nullptr);
    std::vector<Entry> entries;
    if (oci) {
      GANTRY_ASSIGN_OR_RETURN(entries, OciEntries());
    } else if (Find(archive_layout::kDockerManifestFile) != nullptr) {
      GANTRY_ASSIGN_OR_RETURN(entries, DockerEntries());
    } else {
      return BadArchive("format",
                        "neither manifest.json (docker-archive) nor index.json (OCI image layout)");
    }
    GANTRY_RETURN_IF_ERROR(NameUnnamed(entries));
    return entries;
  }

  // Commits the needed blobs: only now, with the whole archive checked.
  absl::Status CommitBlobs() {
    for (const std::string& digest : needed_order_) {
      const NeededBlob& blob = needed_.at(digest);
      const Descriptor& d = blob.descriptor;
      bool stored = false;
      if (blob.member != nullptr && !blob.member->in_store) {
        GANTRY_ASSIGN_OR_RETURN(stored, Commit(*blob.member));
      }
      Report({d.digest, d.media_type, stored ? "stored" : "exists", d.size, d.size, "", ""});
    }
    return absl::OkStatus();
  }

  const Platform& platform() const { return platform_; }

  bool cancelled() const { return options_.cancelled && options_.cancelled(); }
  static absl::Status Cancelled() { return absl::CancelledError("import cancelled"); }

 private:
  void Report(const PullProgress& p) const {
    if (options_.progress) options_.progress(p);
  }

  absl::StatusOr<std::unique_ptr<Member>> ReadMember(archive* a, archive_entry* entry,
                                                     const std::string& path) {
    auto member = std::make_unique<Member>();
    member->path = path;
    const int64_t size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : -1;
    const std::string what = absl::StrCat("member ", Quoted(path));
    // A blob named by its digest that the namespace has need not be read.
    std::optional<Digest> named;
    if (absl::StartsWith(path, archive_layout::kBlobsDir)) {
      absl::StatusOr<Digest> digest = Digest::Parse(
          absl::StrCat("sha256:", path.substr(sizeof(archive_layout::kBlobsDir) - 1)));
      if (digest.ok()) named = *digest;
    }
    if (named.has_value() && size >= 0) {
      absl::StatusOr<v1::ContentInfo> info = content_.Info(ns_, named->str());
      if (info.ok() && info->size() == size) {
        member->size = size;
        member->digest = named->str();
        member->in_store = true;
        return member;
      }
    }
    if (size < 0 || size > kMemoryMember || memory_ + size > kMemoryLimit) {
      absl::StatusOr<std::unique_ptr<content::ContentWriter>> writer = content_.Writer(
          ns_, absl::StrCat(ref_prefix_, ++ingests_), std::max<int64_t>(size, 0), "");
      GANTRY_RETURN_IF_ERROR(Annotate(writer.status(), absl::StrCat("ingest ", what)));
      member->writer = *std::move(writer);
    } else {
      memory_ += size;
    }
    Sha256 hash;
    std::string buffer(kReadBlock, '\0');
    while (true) {
      const la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
      if (n < 0) {
        const char* why = archive_error_string(a);
        return BadArchive(what, why != nullptr ? why : "read failed");
      }
      if (n == 0) break;
      const absl::string_view piece(buffer.data(), static_cast<size_t>(n));
      hash.Update(piece);
      if (member->head.size() < kHeadSize) {
        member->head.append(piece.data(), std::min(piece.size(), kHeadSize - member->head.size()));
      }
      if (member->writer != nullptr) {
        GANTRY_RETURN_IF_ERROR(Annotate(member->writer->Write(piece), what));
      } else {
        member->bytes.append(piece.data(), piece.size());
      }
      member->size += n;
    }
    member->digest = absl::StrCat("sha256:", hash.FinishHex());
    if (named.has_value() && named->str() != member->digest) {
      return BadArchive(what, absl::StrCat("its bytes have digest ", member->digest,
                                           ", not the one it is named by"));
    }
    return member;
  }

  // The member at `path`, following links; null when there is none.
  const Member* Find(const std::string& path) const {
    std::string current = path;
    for (int depth = 0; depth <= kMaxLinkDepth; ++depth) {
      if (auto it = members_.find(current); it != members_.end()) return it->second.get();
      auto link = links_.find(current);
      if (link == links_.end()) return nullptr;
      current = link->second;
    }
    return nullptr;
  }

  absl::StatusOr<const Member*> FindBlob(const std::string& digest) const {
    GANTRY_ASSIGN_OR_RETURN(const Digest parsed, Digest::Parse(digest));
    return Find(archive_layout::BlobMember(parsed));
  }

  // Whether the archive or the namespace's content has the blob.
  bool Available(const Descriptor& d) {
    absl::StatusOr<const Member*> member = FindBlob(d.digest);
    if (member.ok() && *member != nullptr) return true;
    return content_.Info(ns_, d.digest).ok();
  }

  // Records that the images need the blob `d`, from the archive or the
  // content store; `member` when the caller has found it already.
  absl::Status Need(const Descriptor& d, absl::string_view what, const Member* member = nullptr) {
    if (member == nullptr) {
      GANTRY_ASSIGN_OR_RETURN(member, FindBlob(d.digest));
    }
    if (member != nullptr && member->size != d.size) {
      return BadArchive(Quoted(member->path),
                        absl::StrCat(member->size, " bytes, but ", what, " says ", d.size));
    }
    if (member == nullptr) {
      absl::StatusOr<v1::ContentInfo> info = content_.Info(ns_, d.digest);
      if (!info.ok() || info->size() != d.size) {
        return BadArchive(what,
                          absl::StrCat(d.media_type, " ", d.digest, " is not in the archive"));
      }
    }
    if (needed_.emplace(d.digest, NeededBlob{d, member}).second) needed_order_.push_back(d.digest);
    return absl::OkStatus();
  }

  // A manifest or index the images need.
  absl::StatusOr<std::string> Document(const Descriptor& d, absl::string_view what) {
    GANTRY_RETURN_IF_ERROR(Need(d, what));
    const NeededBlob& blob = needed_.at(d.digest);
    if (blob.member == nullptr) return ReadDocument(content_, ns_, d);
    return blob.member->Read(content_, ns_, kMaxDocumentSize);
  }

  absl::StatusOr<std::string> Text(const char* name) const {
    const Member* member = Find(name);
    if (member == nullptr) return BadArchive(name, "missing");
    return member->Read(content_, ns_, kMaxDocumentSize);
  }

  absl::StatusOr<nlohmann::json> JsonFile(const char* name) const {
    GANTRY_ASSIGN_OR_RETURN(const std::string text, Text(name));
    absl::StatusOr<nlohmann::json> json = ParseJson(text, name);
    if (!json.ok()) return BadArchive(name, json.status().message());
    return json;
  }

  absl::StatusOr<std::vector<Entry>> OciEntries() {
    GANTRY_ASSIGN_OR_RETURN(const nlohmann::json layout, JsonFile(archive_layout::kOciLayoutFile));
    std::string version;
    JsonReader reader(layout, archive_layout::kOciLayoutFile);
    reader.Required("imageLayoutVersion", version);
    if (!reader.ok()) return BadArchive(archive_layout::kOciLayoutFile, reader.status().message());
    if (version != archive_layout::kOciLayoutVersion) {
      return BadArchive(
          archive_layout::kOciLayoutFile,
          absl::StrCat("image layout version ", Quoted(version), " is not supported (only ",
                       archive_layout::kOciLayoutVersion, ")"));
    }
    if (Find(archive_layout::kIndexFile) == nullptr) {
      return BadArchive(archive_layout::kIndexFile, "missing from the OCI image layout");
    }
    GANTRY_ASSIGN_OR_RETURN(const std::string index_text, Text(archive_layout::kIndexFile));
    absl::StatusOr<Index> index = ParseIndex(index_text);
    if (!index.ok()) return BadArchive(archive_layout::kIndexFile, index.status().message());
    std::vector<Entry> entries;
    for (const Descriptor& d : index->manifests) {
      GANTRY_RETURN_IF_ERROR(Walk(d, 0, archive_layout::kIndexFile));
      Entry& entry = entries.emplace_back();
      entry.target = d;
      GANTRY_ASSIGN_OR_RETURN(entry.name, OciName(d));
    }
    if (entries.empty()) return BadArchive(archive_layout::kIndexFile, "lists no image");
    return entries;
  }

  // The name index.json gives an image: containerd's full name annotation,
  // else the OCI ref name (a full reference, or a tag for base_name).
  absl::StatusOr<std::string> OciName(const Descriptor& d) const {
    const std::string what = absl::StrCat(archive_layout::kIndexFile, " entry ", d.digest);
    auto name = d.annotations.find(archive_layout::kImageNameAnnotation);
    if (name != d.annotations.end() && !name->second.empty()) {
      return NormalizedName(name->second, what);
    }
    auto ref = d.annotations.find(archive_layout::kRefNameAnnotation);
    if (ref == d.annotations.end() || ref->second.empty()) return std::string();
    if (ref->second.find_first_of("/:@") != std::string::npos) {
      return NormalizedName(ref->second, what);
    }
    if (options_.base_name.empty()) return std::string();  // a tag of no repository
    return NormalizedName(absl::StrCat(options_.base_name, ":", ref->second), what);
  }

  // Needs the target and what it points at: an index's manifests that the
  // archive has (a single-platform export lacks the others), but the one
  // to unpack always; a manifest's config and layers.
  absl::Status Walk(const Descriptor& d, int depth, absl::string_view parent) {
    const std::string what = absl::StrCat(parent, " ", d.digest);
    if (IsManifestMediaType(d.media_type)) {
      GANTRY_ASSIGN_OR_RETURN(std::string text, Document(d, parent));
      absl::StatusOr<Manifest> manifest = ParseManifest(text);
      if (!manifest.ok())
        return BadArchive(absl::StrCat("manifest ", d.digest), manifest.status().message());
      const std::string of = absl::StrCat("manifest ", d.digest);
      GANTRY_RETURN_IF_ERROR(Need(manifest->config, of));
      for (const Descriptor& layer : manifest->layers) GANTRY_RETURN_IF_ERROR(Need(layer, of));
      return absl::OkStatus();
    }
    if (!IsIndexMediaType(d.media_type)) {
      return BadArchive(
          what, absl::StrCat("media type ", Quoted(d.media_type), " is not a manifest or index"));
    }
    if (depth == kMaxIndexDepth) {
      return BadArchive(what, absl::StrCat("indexes nested more than ", kMaxIndexDepth, " deep"));
    }
    GANTRY_ASSIGN_OR_RETURN(std::string text, Document(d, parent));
    absl::StatusOr<Index> index = ParseIndex(text);
    const std::string of = absl::StrCat("index ", d.digest);
    if (!index.ok()) return BadArchive(of, index.status().message());
    std::optional<std::string> unpacked;
    if (options_.unpack) {
      absl::StatusOr<Descriptor> selected = SelectManifest(*index, platform_);
      GANTRY_RETURN_IF_ERROR(Annotate(selected.status(), of));
      unpacked = selected->digest;
    }
    int walked = 0;
    for (const Descriptor& child : index->manifests) {
      if (!Available(child) && child.digest != unpacked) continue;
      GANTRY_RETURN_IF_ERROR(Walk(child, depth + 1, of));
      ++walked;
    }
    if (walked == 0) return BadArchive(of, "none of its manifests is in the archive");
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Entry>> DockerEntries() {
    GANTRY_ASSIGN_OR_RETURN(const nlohmann::json json,
                            JsonFile(archive_layout::kDockerManifestFile));
    if (!json.is_array() || json.empty()) {
      return BadArchive(archive_layout::kDockerManifestFile, "expected a non-empty array");
    }
    std::vector<Entry> entries;
    for (size_t i = 0; i < json.size(); ++i) {
      const std::string where = absl::StrCat(archive_layout::kDockerManifestFile, "[", i, "]");
      std::string config_path;
      std::vector<std::string> repo_tags;
      std::vector<std::string> layer_paths;
      JsonReader reader(json[i], where);
      reader.Required("Config", config_path)
          .Optional("RepoTags", repo_tags)
          .Required("Layers", layer_paths);
      if (!reader.ok())
        return BadArchive(archive_layout::kDockerManifestFile, reader.status().message());
      GANTRY_ASSIGN_OR_RETURN(const Member* config,
                              DockerMember(config_path, absl::StrCat(where, ".Config")));
      const Descriptor config_descriptor{
          media_types::kDockerConfig, config->digest, config->size, {}, {}, {}};
      GANTRY_RETURN_IF_ERROR(Need(config_descriptor, where, config));
      nlohmann::ordered_json layers = nlohmann::ordered_json::array();
      for (size_t j = 0; j < layer_paths.size(); ++j) {
        GANTRY_ASSIGN_OR_RETURN(
            const Member* layer,
            DockerMember(layer_paths[j], absl::StrCat(where, ".Layers[", j, "]")));
        GANTRY_ASSIGN_OR_RETURN(std::string media_type, DockerLayerType(*layer));
        const Descriptor d{media_type, layer->digest, layer->size, {}, {}, {}};
        GANTRY_RETURN_IF_ERROR(Need(d, where, layer));
        layers.push_back({{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}});
      }
      // containerd's importer writes the same document for the same archive.
      const std::string manifest = nlohmann::ordered_json{
          {"schemaVersion", 2},
          {"mediaType", media_types::kDockerManifest},
          {"config",
           {{"mediaType", config_descriptor.media_type},
            {"digest", config_descriptor.digest},
            {"size", config_descriptor.size}}},
          {"layers", layers}}.dump();
      auto built = std::make_unique<Member>();
      built->path = absl::StrCat(where, " (manifest)");
      built->digest = Digest::FromBytes(manifest).str();
      built->size = static_cast<int64_t>(manifest.size());
      built->bytes = manifest;
      const Descriptor target{media_types::kDockerManifest, built->digest, built->size, {}, {}, {}};
      GANTRY_RETURN_IF_ERROR(Need(target, where, built.get()));
      built_.push_back(std::move(built));
      if (repo_tags.empty()) entries.push_back({target, ""});
      for (size_t j = 0; j < repo_tags.size(); ++j) {
        GANTRY_ASSIGN_OR_RETURN(
            std::string name,
            NormalizedName(repo_tags[j], absl::StrCat(where, ".RepoTags[", j, "]")));
        entries.push_back({target, std::move(name)});
      }
    }
    return entries;
  }

  // A file manifest.json names.
  absl::StatusOr<const Member*> DockerMember(const std::string& path, const std::string& what) {
    GANTRY_ASSIGN_OR_RETURN(const std::string clean, PathInArchive("", path, what));
    const Member* member = Find(clean);
    if (member == nullptr)
      return BadArchive(what, absl::StrCat(Quoted(path), " is not in the archive"));
    return member;
  }

  // Docker's layer media type by the layer's first bytes, as containerd's
  // importer tells it.
  absl::StatusOr<std::string> DockerLayerType(const Member& layer) {
    std::string head = layer.head;
    if (layer.in_store) {
      GANTRY_ASSIGN_OR_RETURN(head, content_.ReadAt(ns_, layer.digest, 0, kHeadSize));
    }
    if (absl::StartsWith(head, "\x1f\x8b")) return std::string(media_types::kDockerLayerGzip);
    if (absl::StartsWith(head, "\x28\xb5\x2f\xfd")) return std::string(media_types::kOciLayerZstd);
    return std::string(media_types::kDockerLayer);
  }

  // Names the unnamed images: options.name (for one image), else
  // "<base>@<digest>".
  absl::Status NameUnnamed(std::vector<Entry>& entries) const {
    std::set<std::string> unnamed;
    for (const Entry& entry : entries) {
      if (entry.name.empty()) unnamed.insert(entry.target.digest);
    }
    if (unnamed.empty()) return absl::OkStatus();
    if (!options_.name.empty() && unnamed.size() > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("import: the archive has ", unnamed.size(),
                       " unnamed images; a name can name only one (give a base name instead)"));
    }
    const std::string base = options_.base_name.empty()
                                 ? absl::StrCat("import-", absl::FormatTime("%Y-%m-%d", absl::Now(),
                                                                            absl::UTCTimeZone()))
                                 : options_.base_name;
    for (Entry& entry : entries) {
      if (!entry.name.empty()) continue;
      const std::string name =
          options_.name.empty() ? absl::StrCat(base, "@", entry.target.digest) : options_.name;
      absl::StatusOr<registry::Reference> ref = registry::Reference::Parse(name);
      if (!ref.ok()) return Annotate(ref.status(), "import: image name");
      entry.name = ImageName(*ref);
    }
    return absl::OkStatus();
  }

  // Commits the member under its digest; false when the namespace has the
  // blob already.
  absl::StatusOr<bool> Commit(const Member& member) {
    content::ContentWriter* writer = member.writer.get();
    std::unique_ptr<content::ContentWriter> fresh;
    if (writer == nullptr) {
      absl::StatusOr<std::unique_ptr<content::ContentWriter>> opened =
          content_.Writer(ns_, absl::StrCat(ref_prefix_, ++ingests_), member.size, member.digest);
      if (absl::IsAlreadyExists(opened.status())) return false;
      GANTRY_RETURN_IF_ERROR(Annotate(opened.status(), absl::StrCat("ingest ", member.digest)));
      fresh = *std::move(opened);
      writer = fresh.get();
      GANTRY_RETURN_IF_ERROR(writer->Write(member.bytes));
    }
    absl::Status committed = writer->Commit(member.size, member.digest, {});
    if (absl::IsAlreadyExists(committed)) return false;
    GANTRY_RETURN_IF_ERROR(Annotate(committed, absl::StrCat("commit blob ", member.digest)));
    return true;
  }

  content::ContentStore& content_;
  const absl::string_view ns_;
  const ImportOptions& options_;
  const Platform platform_;
  // Ingest refs of this import: "import-<random>-<n>".
  const std::string ref_prefix_;
  int ingests_ = 0;
  int64_t memory_ = 0;
  std::map<std::string, std::unique_ptr<Member>> members_;  // by path
  std::map<std::string, std::string> links_;                // path -> target path
  std::vector<std::unique_ptr<Member>> built_;              // docker-archive manifests
  std::map<std::string, NeededBlob> needed_;                // by digest
  std::vector<std::string> needed_order_;
};

}  // namespace

absl::StatusOr<std::vector<ImportedImage>> ImageImporter::Import(absl::string_view ns,
                                                                 const ArchiveReadFn& read,
                                                                 const ImportOptions& options) {
  snapshots::Snapshotter* snapshotter = nullptr;
  if (options.unpack) {
    GANTRY_ASSIGN_OR_RETURN(snapshotter, snapshotters_(options.snapshotter));
  }
  ArchiveImport import(content_, ns, options);
  GANTRY_RETURN_IF_ERROR(import.ReadArchive(read));
  GANTRY_ASSIGN_OR_RETURN(const std::vector<Entry> entries, import.Entries());
  auto check_cancelled = [&]() -> absl::Status {
    return import.cancelled() ? ArchiveImport::Cancelled() : absl::OkStatus();
  };
  GANTRY_RETURN_IF_ERROR(check_cancelled());
  GANTRY_RETURN_IF_ERROR(import.CommitBlobs());

  if (options.unpack) {
    std::set<std::string> unpacked;
    for (const Entry& entry : entries) {
      if (!unpacked.insert(entry.target.digest).second) continue;
      v1::Descriptor target;
      target.set_media_type(entry.target.media_type);
      target.set_digest(entry.target.digest);
      target.set_size(entry.target.size);
      absl::StatusOr<ResolvedImage> resolved =
          ResolveImage(content_, ns, target, import.platform());
      GANTRY_RETURN_IF_ERROR(Annotate(resolved.status(), absl::StrCat("image ", entry.name)));
      GANTRY_ASSIGN_OR_RETURN(
          const std::string chain_id,
          UnpackImage(content_, *snapshotter, ns, *resolved, options.progress, check_cancelled));
      if (chain_id.empty()) continue;
      // As the puller: the config keeps the unpacked snapshots from garbage
      // collection while an image leads to it.
      v1::ContentInfo label;
      label.set_digest(resolved->manifest.config.digest);
      const std::string key = absl::StrCat(gc::kRefSnapshotLabel, options.snapshotter);
      (*label.mutable_labels())[key] = chain_id;
      google::protobuf::FieldMask mask;
      mask.add_paths(absl::StrCat("labels.", key));
      GANTRY_RETURN_IF_ERROR(content_.Update(ns, label, mask).status());
    }
  }

  GANTRY_RETURN_IF_ERROR(check_cancelled());
  std::map<std::string, v1::Image> records;  // the last entry of a name wins
  for (const Entry& entry : entries) {
    v1::Image& image = records[entry.name];
    image.set_name(entry.name);
    v1::Descriptor* target = image.mutable_target();
    target->set_media_type(entry.target.media_type);
    target->set_digest(entry.target.digest);
    target->set_size(entry.target.size);
  }
  std::vector<ImportedImage> imported;
  for (const auto& [name, image] : records) {
    absl::StatusOr<v1::Image> created = images_.Create(ns, image);
    if (absl::IsAlreadyExists(created.status())) {
      google::protobuf::FieldMask mask;
      mask.add_paths("target");
      GANTRY_ASSIGN_OR_RETURN(v1::Image updated, images_.Update(ns, image, mask));
      imported.push_back({std::move(updated), false});
      continue;
    }
    GANTRY_RETURN_IF_ERROR(Annotate(created.status(), absl::StrCat("image ", name)));
    imported.push_back({*std::move(created), true});
  }
  return imported;
}

}  // namespace gantry::contd::images
