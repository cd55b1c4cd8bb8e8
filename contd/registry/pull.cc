// RegistryClient: resolving references, fetching manifests and blobs.
#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/json_util.h"
#include "contd/registry/registry_client.h"

namespace gantry::registry {
namespace {

// containerd's limit: a manifest is small, and held in memory.
constexpr size_t kMaxManifestSize = 4 << 20;
constexpr size_t kReadBuffer = 256 << 10;

const char kManifestAccept[] =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

// "application/json; charset=utf-8" -> "application/json"
std::string BareMediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t;
}

// The content's own mediaType when the server's Content-Type is generic.
std::string ManifestMediaType(const std::string& content_type, absl::string_view bytes) {
  std::string type = BareMediaType(content_type);
  if (!type.empty() && type != "application/json" && type != "text/plain") return type;
  auto doc = ParseJson(bytes, "manifest");
  if (doc.ok() && doc->is_object() && (*doc)["mediaType"].is_string())
    return (*doc)["mediaType"].get<std::string>();
  return type;
}

// "bytes 100-199/200": the first byte's offset.
std::optional<int64_t> ContentRangeStart(const std::string& header) {
  absl::string_view v = header;
  if (!absl::ConsumePrefix(&v, "bytes ")) return std::nullopt;
  int64_t start;
  if (!absl::SimpleAtoi(v.substr(0, v.find('-')), &start)) return std::nullopt;
  return start;
}

}  // namespace

absl::StatusOr<Descriptor> RegistryClient::Resolve(const Reference& ref) {
  std::string what = absl::StrCat("resolve ", ref.String());
  auto url = ApiUrl(ref, absl::StrCat("/manifests/", ref.Object()));
  if (!url.ok()) return Annotate(url.status(), what);
  HttpRequest request;
  request.method = "HEAD";
  request.url = *url;
  request.SetHeader("Accept", kManifestAccept);
  auto response = Do(ref.domain(), PullScopes(ref), request);
  if (!response.ok()) return Annotate(response.status(), what);
  HttpResponse& r = **response;
  if (r.status() == 200) {
    auto digest = Digest::Parse(r.Header("Docker-Content-Digest"));
    auto size = r.content_length();
    std::string type = BareMediaType(r.Header("Content-Type"));
    bool typed = type == kOciManifest || type == kOciIndex || type == kDockerManifest ||
                 type == kDockerManifestList;
    if (digest.ok() && size && typed) {
      if (ref.digest() && !(*digest == *ref.digest()))
        return absl::DataLossError(
            absl::StrCat(what, ": registry answered digest ", digest->str()));
      return Descriptor{type, *std::move(digest), *size};
    }
  }
  // Some registries answer HEAD poorly (no digest, no type), and a HEAD error
  // has no body to explain it: GET tells all.
  GANTRY_ASSIGN_OR_RETURN(Manifest manifest, FetchManifest(ref));
  return manifest.descriptor;
}

absl::StatusOr<Manifest> RegistryClient::FetchManifest(const Reference& ref) {
  std::string what = absl::StrCat("fetch manifest ", ref.String());
  auto url = ApiUrl(ref, absl::StrCat("/manifests/", ref.Object()));
  if (!url.ok()) return Annotate(url.status(), what);
  HttpRequest request;
  request.url = *url;
  request.SetHeader("Accept", kManifestAccept);
  auto response = Do(ref.domain(), PullScopes(ref), request);
  if (!response.ok()) return Annotate(response.status(), what);
  HttpResponse& r = **response;
  if (r.status() != 200) return HttpError(r, what);
  auto bytes = r.ReadAll(kMaxManifestSize);
  if (!bytes.ok()) return Annotate(bytes.status(), what);
  Digest actual = Digest::FromBytes(*bytes);
  // The registry's word and the reference's digest must both match the bytes.
  if (std::string header = r.Header("Docker-Content-Digest"); !header.empty()) {
    auto claimed = Digest::Parse(header);
    if (!claimed.ok() || !(*claimed == actual))
      return absl::DataLossError(absl::StrCat(what, ": digest mismatch: Docker-Content-Digest is ",
                                              header, ", content is ", actual.str()));
  }
  if (ref.digest() && !(*ref.digest() == actual))
    return absl::DataLossError(absl::StrCat(what, ": digest mismatch: content is ", actual.str()));
  std::string type = ManifestMediaType(r.Header("Content-Type"), *bytes);
  int64_t size = static_cast<int64_t>(bytes->size());
  return Manifest{Descriptor{type, actual, size}, *std::move(bytes)};
}

absl::StatusOr<Digest> RegistryClient::FetchBlob(const Reference& repo, const Descriptor& blob,
                                                 BlobSink& sink, const ProgressFn& progress) {
  std::string what = absl::StrCat("fetch blob ", blob.digest.str(), " of ", repo.Name());
  Sha256 hash;
  int64_t offset = sink.offset();
  if (offset > blob.size)
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": sink holds ", offset, " bytes, more than the blob's ", blob.size));
  if (offset > 0) {
    GANTRY_RETURN_IF_ERROR(Annotate(sink.ReadExisting([&](absl::string_view data) {
      hash.Update(data);
      return absl::OkStatus();
    }),
                                    what));
  }
  int64_t done = offset;
  if (offset < blob.size) {
    auto url = ApiUrl(repo, absl::StrCat("/blobs/", blob.digest.str()));
    if (!url.ok()) return Annotate(url.status(), what);
    HttpRequest request;
    request.url = *url;
    request.follow_redirects = true;  // blob storage often lives elsewhere
    if (offset > 0) request.SetHeader("Range", absl::StrCat("bytes=", offset, "-"));
    auto response = Do(repo.domain(), PullScopes(repo), request);
    if (!response.ok()) return Annotate(response.status(), what);
    HttpResponse& r = **response;
    // A server ignoring Range sends everything: skip what the sink has.
    int64_t skip = 0;
    if (r.status() == 206) {
      auto start = ContentRangeStart(r.Header("Content-Range"));
      if (!start || *start != offset)
        return absl::UnavailableError(absl::StrCat(what, ": asked for bytes from ", offset,
                                                   ", got Content-Range \"",
                                                   r.Header("Content-Range"), "\""));
    } else if (r.status() == 200) {
      skip = offset;
    } else {
      return HttpError(r, what);
    }
    auto buf = std::make_unique<char[]>(kReadBuffer);
    while (true) {
      auto n = r.Read(buf.get(), kReadBuffer);
      if (!n.ok()) return Annotate(n.status(), absl::StrCat(what, " (", done, " bytes held)"));
      if (*n == 0) break;
      absl::string_view data(buf.get(), *n);
      if (skip > 0) {
        size_t s = static_cast<size_t>(std::min<int64_t>(skip, static_cast<int64_t>(data.size())));
        data.remove_prefix(s);
        skip -= static_cast<int64_t>(s);
      }
      if (data.empty()) continue;
      done += static_cast<int64_t>(data.size());
      if (done > blob.size)
        return absl::DataLossError(
            absl::StrCat(what, ": more than the expected ", blob.size, " bytes"));
      hash.Update(data);
      GANTRY_RETURN_IF_ERROR(Annotate(sink.Write(data), what));
      if (progress) progress(blob, done, blob.size);
    }
  }
  if (done != blob.size)
    return absl::DataLossError(absl::StrCat(what, ": got ", done, " bytes, expected ", blob.size));
  GANTRY_ASSIGN_OR_RETURN(Digest actual, Digest::Parse("sha256:" + hash.FinishHex()));
  if (!(actual == blob.digest))
    return absl::DataLossError(absl::StrCat(what, ": digest mismatch: content is ", actual.str()));
  return actual;
}

std::vector<absl::StatusOr<Digest>> RegistryClient::FetchBlobs(
    const Reference& repo, const std::vector<BlobFetch>& fetches, const ProgressFn& progress,
    int parallel, const FetchedFn& fetched) {
  std::vector<absl::StatusOr<Digest>> results(fetches.size(),
                                              absl::CancelledError("blob not fetched"));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < fetches.size();) {
      results[i] = FetchBlob(repo, fetches[i].descriptor, *fetches[i].sink, progress);
      if (fetched) fetched(i, results[i]);
    }
  };
  size_t threads = std::min<size_t>(std::max(parallel, 1), fetches.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();  // this thread is one of the workers
  for (std::thread& t : pool) t.join();
  return results;
}

}  // namespace gantry::registry
