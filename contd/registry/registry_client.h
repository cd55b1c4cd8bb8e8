// A client of the OCI distribution API (Docker Registry HTTP API v2): resolve
// and fetch manifests, fetch blobs into a BlobSink (resumable, verified while
// streaming, several at once), push blobs and manifests. Thread-safe: one
// client serves concurrent pulls and pushes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/registry/authorizer.h"
#include "contd/registry/blob_io.h"
#include "contd/registry/descriptor.h"
#include "contd/registry/http_client.h"
#include "contd/registry/reference.h"
#include "contd/registry/registry_hosts.h"

namespace gantry::registry {

struct RegistryClientOptions {
  RegistryHostsConfig hosts;
  // A docker-style config.json with "auths"; "" or a missing file: anonymous.
  std::string docker_config;
  HttpOptions http;
};

struct Manifest {
  Descriptor descriptor;
  std::string bytes;
};

// Called as bytes arrive: (blob, bytes held so far including a resumed
// prefix, total). From FetchBlobs' worker threads, so it must be thread-safe.
using ProgressFn = std::function<void(const Descriptor& blob, int64_t done, int64_t total)>;

// Called as each blob of FetchBlobs ends (its index and outcome), from the
// worker thread that fetched it, so its sink may be committed right away.
using FetchedFn = std::function<void(size_t index, const absl::StatusOr<Digest>& result)>;

struct BlobFetch {
  Descriptor descriptor;
  BlobSink* sink;
};

struct PushBlobOptions {
  // Another repository of the same registry that has the blob: mounted from
  // there instead of uploaded when the registry allows it.
  std::string mount_from;
  // 0: one PUT with the whole blob; else PATCHes of this size, then the PUT.
  int64_t chunk_size = 0;
};

class RegistryClient {
 public:
  static absl::StatusOr<std::unique_ptr<RegistryClient>> Create(RegistryClientOptions options);

  // The manifest (or index) a tag or digest names: media type, digest, size.
  absl::StatusOr<Descriptor> Resolve(const Reference& ref);
  // The manifest's bytes, checked against Docker-Content-Digest and, when
  // the reference has one, against its digest.
  absl::StatusOr<Manifest> FetchManifest(const Reference& ref);

  // Streams the blob of `repo` into `sink`, from sink.offset() on (a Range
  // request), checking size and digest over the whole blob. Returns the
  // computed digest; committing the sink is the caller's part. A failure
  // mid-way leaves the received bytes in the sink for a later resume.
  absl::StatusOr<Digest> FetchBlob(const Reference& repo, const Descriptor& blob, BlobSink& sink,
                                   const ProgressFn& progress = {});
  // FetchBlob for each, `parallel` at a time; results in the same order.
  std::vector<absl::StatusOr<Digest>> FetchBlobs(const Reference& repo,
                                                 const std::vector<BlobFetch>& fetches,
                                                 const ProgressFn& progress = {}, int parallel = 3,
                                                 const FetchedFn& fetched = {});

  absl::StatusOr<bool> BlobExists(const Reference& repo, const Digest& digest);
  // Cross-repository mount: true when the registry mounted the blob.
  absl::StatusOr<bool> MountBlob(const Reference& repo, const Digest& digest,
                                 const std::string& from_path);
  // Uploads unless the registry already has the blob (or mounts it).
  absl::Status PushBlob(const Reference& repo, const Descriptor& blob, BlobSource& source,
                        const PushBlobOptions& options = {});
  // PUTs the manifest under ref's tag (or digest); returns its digest.
  absl::StatusOr<Digest> PushManifest(const Reference& ref, absl::string_view media_type,
                                      absl::string_view bytes);
  // Points `tag` of the repository at the manifest `ref` names.
  absl::Status Tag(const Reference& ref, const std::string& tag);

 private:
  RegistryClient(RegistryClientOptions options, RegistryHosts hosts, CredentialStore credentials);

  // scheme://host:port/ of the registry, found by pinging /v2/ on its
  // endpoints in order (cached).
  absl::StatusOr<Url> BaseUrl(const std::string& domain);
  absl::StatusOr<Url> ApiUrl(const Reference& repo, absl::string_view path);
  // Sends with authorization, answering one 401 challenge.
  absl::StatusOr<std::unique_ptr<HttpResponse>> Do(const std::string& domain,
                                                   const std::vector<std::string>& scopes,
                                                   HttpRequest request);
  // POST /blobs/uploads/ (optionally a mount); the response's status and
  // Location.
  absl::StatusOr<std::pair<int, Url>> StartUpload(const Reference& repo,
                                                  const std::vector<std::string>& scopes,
                                                  const Digest* mount, const std::string& from);

  RegistryClientOptions options_;
  RegistryHosts hosts_;
  HttpClient http_;
  Authorizer authorizer_;
  std::mutex mu_;
  std::map<std::string, Url> base_urls_;  // by domain
};

// The error for an unexpected HTTP answer: the registry's error codes and
// messages, with a status code matching the HTTP one.
absl::Status HttpError(HttpResponse& response, absl::string_view what);

std::vector<std::string> PullScopes(const Reference& repo);
std::vector<std::string> PushScopes(const Reference& repo);

}  // namespace gantry::registry
