#include "contd/images/manifest.h"

#include <sys/utsname.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"
#include "common/errors.h"
#include "common/json_util.h"

namespace gantry::contd::images {
namespace {

void ReadPlatform(JsonReader reader, Platform& platform) {
  reader.Required("os", platform.os)
      .Required("architecture", platform.architecture)
      .Optional("variant", platform.variant)
      .Optional("os.version", platform.os_version);
}

void ReadDescriptor(JsonReader reader, Descriptor& descriptor) {
  reader.Required("mediaType", descriptor.media_type)
      .Required("digest", descriptor.digest)
      .Required("size", descriptor.size)
      .Optional("annotations", descriptor.annotations)
      .Optional("urls", descriptor.urls);
  if (!reader.ok()) return;
  if (absl::Status valid = Digest::Parse(descriptor.digest).status(); !valid.ok()) {
    reader.Error("digest", valid.message());
  } else if (descriptor.size < 0) {
    reader.Error("size", "must not be negative");
  }
  if (reader.Has("platform")) {
    ReadPlatform(reader.Object("platform"), descriptor.platform.emplace());
  }
}

std::vector<Descriptor> ReadDescriptors(JsonReader& reader, absl::string_view key) {
  std::vector<Descriptor> descriptors;
  std::vector<const nlohmann::json*> items = reader.Array(key);
  for (size_t i = 0; i < items.size() && reader.ok(); ++i) {
    ReadDescriptor(reader.Element(*items[i], i, key), descriptors.emplace_back());
  }
  return descriptors;
}

// The document's schemaVersion (2 for all we read) and mediaType, which must
// be one `accepts` takes when present.
absl::Status CheckKind(JsonReader& reader, std::string& media_type,
                       bool (*accepts)(absl::string_view), absl::string_view kind) {
  int schema_version = 0;
  reader.Required("schemaVersion", schema_version).Optional("mediaType", media_type);
  GANTRY_RETURN_IF_ERROR(reader.status());
  if (schema_version != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("schemaVersion: ", schema_version, " is not supported (only 2)"));
  }
  if (!media_type.empty() && !accepts(media_type)) {
    return absl::InvalidArgumentError(
        absl::StrCat("mediaType: \"", media_type, "\" is not an image ", kind));
  }
  return absl::OkStatus();
}

// Docker's {"80/tcp": {}} sets, as sorted keys.
std::vector<std::string> ReadSet(JsonReader& reader, absl::string_view key) {
  std::map<std::string, nlohmann::json> set;
  reader.Optional(key, set);
  std::vector<std::string> keys;
  for (const auto& [k, unused] : set) keys.push_back(k);
  return keys;
}

void ReadContainerConfig(JsonReader reader, ContainerConfig& config) {
  reader.Optional("User", config.user)
      .Optional("Env", config.env)
      .Optional("Entrypoint", config.entrypoint)
      .Optional("Cmd", config.cmd)
      .Optional("WorkingDir", config.working_dir)
      .Optional("Labels", config.labels)
      .Optional("StopSignal", config.stop_signal)
      .Optional("Shell", config.shell);
  config.exposed_ports = ReadSet(reader, "ExposedPorts");
  config.volumes = ReadSet(reader, "Volumes");
  if (reader.ok() && reader.Has("Healthcheck")) {
    HealthCheck& check = config.healthcheck.emplace();
    reader.Object("Healthcheck")
        .Optional("Test", check.test)
        .Optional("Interval", check.interval)
        .Optional("Timeout", check.timeout)
        .Optional("StartPeriod", check.start_period)
        .Optional("StartInterval", check.start_interval)
        .Optional("Retries", check.retries);
  }
}

}  // namespace

bool IsManifestMediaType(absl::string_view media_type) {
  return media_type == media_types::kOciManifest || media_type == media_types::kDockerManifest;
}

bool IsIndexMediaType(absl::string_view media_type) {
  return media_type == media_types::kOciIndex || media_type == media_types::kDockerManifestList;
}

absl::StatusOr<LayerCompression> LayerCompressionOf(absl::string_view media_type) {
  if (media_type == media_types::kOciLayer || media_type == media_types::kDockerLayer) {
    return LayerCompression::kNone;
  }
  if (media_type == media_types::kOciLayerGzip || media_type == media_types::kDockerLayerGzip ||
      media_type == media_types::kDockerForeignLayerGzip ||
      media_type == media_types::kOciLayerNondistributableGzip) {
    return LayerCompression::kGzip;
  }
  if (media_type == media_types::kOciLayerZstd) return LayerCompression::kZstd;
  return absl::InvalidArgumentError(
      absl::StrCat("media type \"", media_type, "\" is not a layer type contd can unpack"));
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view json) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json document, ParseJson(json, "manifest"));
  if (document.is_object() && document.contains("fsLayers")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "manifest: Docker schema 1 (", media_types::kDockerSchema1Manifest, ") is not supported"));
  }
  JsonReader reader(document, "");
  Manifest manifest;
  GANTRY_RETURN_IF_ERROR(Annotate(
      CheckKind(reader, manifest.media_type, IsManifestMediaType, "manifest"), "manifest"));
  if (!reader.Has("config")) reader.Error("config", "required field is missing");
  if (reader.ok()) ReadDescriptor(reader.Object("config"), manifest.config);
  if (reader.ok() && !reader.Has("layers")) reader.Error("layers", "required field is missing");
  manifest.layers = ReadDescriptors(reader, "layers");
  reader.Optional("annotations", manifest.annotations);
  GANTRY_RETURN_IF_ERROR(Annotate(reader.status(), "manifest"));
  return manifest;
}

absl::StatusOr<Index> ParseIndex(absl::string_view json) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json document, ParseJson(json, "index"));
  JsonReader reader(document, "");
  Index index;
  GANTRY_RETURN_IF_ERROR(
      Annotate(CheckKind(reader, index.media_type, IsIndexMediaType, "index"), "index"));
  if (!reader.Has("manifests")) reader.Error("manifests", "required field is missing");
  index.manifests = ReadDescriptors(reader, "manifests");
  reader.Optional("annotations", index.annotations);
  GANTRY_RETURN_IF_ERROR(Annotate(reader.status(), "index"));
  return index;
}

absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view json) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json document, ParseJson(json, "config"));
  JsonReader reader(document, "");
  ImageConfig image;
  reader.Optional("created", image.created)
      .Optional("author", image.author)
      .Required("architecture", image.platform.architecture)
      .Required("os", image.platform.os)
      .Optional("variant", image.platform.variant)
      .Optional("os.version", image.platform.os_version);
  ReadContainerConfig(reader.Object("config"), image.config);
  if (reader.ok() && !reader.Has("rootfs")) reader.Error("rootfs", "required field is missing");
  JsonReader rootfs = reader.Object("rootfs");
  rootfs.Required("type", image.rootfs_type).Required("diff_ids", image.diff_ids);
  if (reader.ok() && image.rootfs_type != "layers") {
    rootfs.Error("type", absl::StrCat("\"", image.rootfs_type, "\" is not \"layers\""));
  }
  for (size_t i = 0; i < image.diff_ids.size() && reader.ok(); ++i) {
    if (absl::Status valid = Digest::Parse(image.diff_ids[i]).status(); !valid.ok()) {
      rootfs.Error(absl::StrCat("diff_ids[", i, "]"), valid.message());
    }
  }
  std::vector<const nlohmann::json*> history = reader.Array("history");
  for (size_t i = 0; i < history.size() && reader.ok(); ++i) {
    HistoryEntry& entry = image.history.emplace_back();
    reader.Element(*history[i], i, "history")
        .Optional("created", entry.created)
        .Optional("created_by", entry.created_by)
        .Optional("author", entry.author)
        .Optional("comment", entry.comment)
        .Optional("empty_layer", entry.empty_layer);
  }
  GANTRY_RETURN_IF_ERROR(Annotate(reader.status(), "config"));
  return image;
}

Platform NormalizePlatform(Platform p) {
  p.os = absl::AsciiStrToLower(p.os);
  if (p.os == "macos") p.os = "darwin";
  std::string& arch = p.architecture;
  std::string& variant = p.variant;
  arch = absl::AsciiStrToLower(arch);
  variant = absl::AsciiStrToLower(variant);
  if (arch == "i386") {
    arch = "386";
    variant = "";
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant = "";
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8" || variant == "v8.0") variant = "";
    if (variant == "9" || variant == "9.0" || variant == "v9.0") variant = "v9";
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty() || variant == "7") variant = "v7";
    if (variant == "5" || variant == "6" || variant == "8") variant = absl::StrCat("v", variant);
  }
  return p;
}

Platform HostPlatform() {
  struct utsname name;
  Platform host{"linux", "amd64", "", ""};
  if (::uname(&name) == 0) host.architecture = name.machine;
  return NormalizePlatform(host);
}

absl::StatusOr<Platform> ParsePlatform(absl::string_view text) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("platform \"", text, "\": expected os/architecture[/variant]"));
  }
  return NormalizePlatform(
      Platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : std::string(), ""});
}

std::string FormatPlatform(const Platform& p) {
  return p.variant.empty() ? absl::StrCat(p.os, "/", p.architecture)
                           : absl::StrCat(p.os, "/", p.architecture, "/", p.variant);
}

namespace {

// The numeric version of "vN" (or -1).
int VariantNumber(absl::string_view variant) {
  int n = -1;
  if (!absl::ConsumePrefix(&variant, "v") || !absl::SimpleAtoi(variant, &n)) return -1;
  return n;
}

// (architecture, variant) pairs a host of `want` runs, best first.
std::vector<std::pair<std::string, std::string>> RunnableVector(const Platform& want) {
  std::vector<std::pair<std::string, std::string>> vector = {{want.architecture, want.variant}};
  const std::string& arch = want.architecture;
  if (arch == "amd64") {
    // amd64 without a variant is v1, the oldest.
    for (int v = VariantNumber(want.variant) - 1; v >= 1; --v) {
      vector.emplace_back("amd64", v == 1 ? "" : absl::StrCat("v", v));
    }
    vector.emplace_back("386", "");
  } else if (arch == "arm") {
    for (int v = VariantNumber(want.variant) - 1; v >= 5; --v) {
      vector.emplace_back("arm", absl::StrCat("v", v));
    }
  } else if (arch == "arm64") {
    if (!want.variant.empty()) vector.emplace_back("arm64", "");  // v8
    for (int v = 7; v >= 5; --v) vector.emplace_back("arm", absl::StrCat("v", v));
  }
  return vector;
}

}  // namespace

std::optional<int> PlatformRank(const Platform& want, const Platform& have) {
  const Platform w = NormalizePlatform(want);
  const Platform h = NormalizePlatform(have);
  if (w.os != h.os) return std::nullopt;
  const auto vector = RunnableVector(w);
  for (size_t i = 0; i < vector.size(); ++i) {
    if (vector[i].first == h.architecture && vector[i].second == h.variant) {
      return static_cast<int>(i);
    }
  }
  return std::nullopt;
}

absl::StatusOr<Descriptor> SelectManifest(const Index& index, const Platform& want) {
  const Descriptor* best = nullptr;
  int best_rank = 0;
  std::vector<std::string> offered;
  for (const Descriptor& d : index.manifests) {
    if (!d.platform.has_value()) continue;
    offered.push_back(FormatPlatform(NormalizePlatform(*d.platform)));
    std::optional<int> rank = PlatformRank(want, *d.platform);
    if (rank.has_value() && (best == nullptr || *rank < best_rank)) {
      best = &d;
      best_rank = *rank;
    }
  }
  if (best == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "no manifest for platform ", FormatPlatform(NormalizePlatform(want)),
        " in the index (it offers: ", offered.empty() ? "none" : absl::StrJoin(offered, ", "),
        ")"));
  }
  return *best;
}

std::vector<std::string> ChainIDs(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> chain;
  for (const std::string& diff_id : diff_ids) {
    chain.push_back(chain.empty()
                        ? diff_id
                        : Digest::FromBytes(absl::StrCat(chain.back(), " ", diff_id)).str());
  }
  return chain;
}

std::string ChainID(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> chain = ChainIDs(diff_ids);
  return chain.empty() ? std::string() : chain.back();
}

}  // namespace gantry::contd::images
