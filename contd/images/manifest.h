// The image formats contd reads: OCI image manifests and indexes, Docker
// schema 2 manifests and manifest lists, and image configs; the choice of
// one manifest of an index for a platform (containerd's platforms package);
// and layer chain IDs (OCI image spec, config.md), which name the
// snapshots a layer stack unpacks into.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::contd::images {

namespace media_types {
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kOciLayer[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kOciLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kOciLayerNondistributableGzip[] =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kDockerLayer[] = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr char kDockerLayerGzip[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr char kDockerForeignLayerGzip[] =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr char kDockerSchema1Manifest[] =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_types

bool IsManifestMediaType(absl::string_view media_type);
bool IsIndexMediaType(absl::string_view media_type);

enum class LayerCompression { kNone, kGzip, kZstd };
// INVALID_ARGUMENT naming the media type unless it is a layer type.
absl::StatusOr<LayerCompression> LayerCompressionOf(absl::string_view media_type);

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;
  bool operator==(const Platform&) const = default;
};

struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>", validated
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> urls;
  std::optional<Platform> platform;  // in indexes
};

// An OCI image manifest or a Docker schema 2 manifest.
struct Manifest {
  std::string media_type;  // as the document states it (may be empty in OCI)
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

// An OCI image index or a Docker manifest list.
struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// Errors are INVALID_ARGUMENT naming the field ("manifest: layers[1].digest:
// ..."); a document of the other kind (an index given to ParseManifest) or
// a Docker schema 1 manifest is refused with its media type.
absl::StatusOr<Manifest> ParseManifest(absl::string_view json);
absl::StatusOr<Index> ParseIndex(absl::string_view json);

struct HealthCheck {
  // ["NONE"], ["CMD", args...] or ["CMD-SHELL", command].
  std::vector<std::string> test;
  // Nanoseconds, as Docker stores them; 0 means the default.
  int64_t interval = 0;
  int64_t timeout = 0;
  int64_t start_period = 0;
  int64_t start_interval = 0;
  int retries = 0;
};

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
};

// The "config" member of an image config: how to run the image.
struct ContainerConfig {
  std::string user;
  std::vector<std::string> exposed_ports;  // "80/tcp", sorted
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> volumes;  // sorted
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<HealthCheck> healthcheck;  // Docker's extension
  std::optional<std::vector<std::string>> shell;
};

struct ImageConfig {
  std::string created;
  std::string author;
  Platform platform;
  ContainerConfig config;
  std::string rootfs_type;            // "layers"
  std::vector<std::string> diff_ids;  // one per layer, validated digests
  std::vector<HistoryEntry> history;
};

// INVALID_ARGUMENT naming the field ("config: config.Env: expected array of
// strings"); rootfs.type must be "layers".
absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view json);

// containerd's normalization: lower case, "x86_64" -> amd64 (variant v1 ->
// ""), "aarch64" -> arm64 (variant v8 -> ""), arm's default variant v7,
// "armhf" -> arm/v7, "macos" -> darwin.
Platform NormalizePlatform(Platform platform);
// linux and the host's architecture (uname), normalized.
Platform HostPlatform();
// "os/arch[/variant]" (INVALID_ARGUMENT otherwise), normalized.
absl::StatusOr<Platform> ParsePlatform(absl::string_view text);
std::string FormatPlatform(const Platform& platform);

// What a host of `want` runs, best first, as containerd's platforms.Only:
// the platform itself, then older variants of its architecture (amd64/v3 ->
// v2, v1; arm/v7 -> v6, v5), then the 32-bit architecture (amd64 -> 386,
// arm64 -> arm/v7 ...). nullopt when `have` is not runnable, else its rank
// (0 is best).
std::optional<int> PlatformRank(const Platform& want, const Platform& have);

// The best manifest of the index for `want`; ties go to the first listed.
// Manifests without a platform are skipped. NOT_FOUND naming the wanted
// platform and those the index offers.
absl::StatusOr<Descriptor> SelectManifest(const Index& index, const Platform& want);

// ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) +
// " " + DiffID(Ln)). One chain ID per layer; the last one names the image's
// rootfs.
std::vector<std::string> ChainIDs(const std::vector<std::string>& diff_ids);
// The chain ID of the whole stack; "" for no layers.
std::string ChainID(const std::vector<std::string>& diff_ids);

}  // namespace gantry::contd::images
