// RegistryClient: pushing blobs (existence check, cross-repository mount,
// monolithic or chunked upload) and manifests.
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "contd/registry/registry_client.h"

namespace gantry::registry {
namespace {

// Verifies the registry's Docker-Content-Digest, when it sends one.
absl::Status CheckDigestHeader(HttpResponse& r, const Digest& expected, absl::string_view what) {
  std::string header = r.Header("Docker-Content-Digest");
  if (header.empty() || header == expected.str()) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat(what, ": registry stored digest ", header, ", expected ", expected.str()));
}

}  // namespace

absl::StatusOr<bool> RegistryClient::BlobExists(const Reference& repo, const Digest& digest) {
  std::string what = absl::StrCat("check blob ", digest.str(), " in ", repo.Name());
  auto url = ApiUrl(repo, absl::StrCat("/blobs/", digest.str()));
  if (!url.ok()) return Annotate(url.status(), what);
  HttpRequest request;
  request.method = "HEAD";
  request.url = *url;
  request.follow_redirects = true;
  auto response = Do(repo.domain(), PushScopes(repo), request);
  if (!response.ok()) return Annotate(response.status(), what);
  int status = (*response)->status();
  if (status == 200) return true;
  if (status == 404) return false;
  return HttpError(**response, what);
}

absl::StatusOr<std::pair<int, Url>> RegistryClient::StartUpload(
    const Reference& repo, const std::vector<std::string>& scopes, const Digest* mount,
    const std::string& from) {
  std::string what = absl::StrCat("start upload to ", repo.Name());
  auto url = ApiUrl(repo, "/blobs/uploads/");
  if (!url.ok()) return Annotate(url.status(), what);
  if (mount != nullptr) {
    url->AddQuery("mount", mount->str());
    url->AddQuery("from", from);
  }
  HttpRequest request;
  request.method = "POST";
  request.url = *url;
  auto response = Do(repo.domain(), scopes, request);
  if (!response.ok()) return Annotate(response.status(), what);
  HttpResponse& r = **response;
  if (r.status() == 201 && mount != nullptr) return std::make_pair(201, *url);
  if (r.status() != 202) return HttpError(r, what);
  GANTRY_ASSIGN_OR_RETURN(Url location, url->Resolve(r.Header("Location")));
  return std::make_pair(202, location);
}

absl::StatusOr<bool> RegistryClient::MountBlob(const Reference& repo, const Digest& digest,
                                               const std::string& from_path) {
  std::vector<std::string> scopes = PushScopes(repo);
  scopes.push_back(absl::StrCat("repository:", from_path, ":pull"));
  GANTRY_ASSIGN_OR_RETURN(auto started, StartUpload(repo, scopes, &digest, from_path));
  if (started.first == 201) return true;
  // The registry opened an upload instead: cancel it (best effort).
  HttpRequest cancel;
  cancel.method = "DELETE";
  cancel.url = started.second;
  (void)Do(repo.domain(), PushScopes(repo), cancel);
  return false;
}

absl::Status RegistryClient::PushBlob(const Reference& repo, const Descriptor& blob,
                                      BlobSource& source, const PushBlobOptions& options) {
  std::string what = absl::StrCat("push blob ", blob.digest.str(), " to ", repo.Name());
  if (source.size() != blob.size)
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": source has ", source.size(), " bytes, descriptor says ", blob.size));
  GANTRY_ASSIGN_OR_RETURN(bool exists, BlobExists(repo, blob.digest));
  if (exists) return absl::OkStatus();

  std::vector<std::string> scopes = PushScopes(repo);
  std::pair<int, Url> started;
  if (!options.mount_from.empty()) {
    scopes.push_back(absl::StrCat("repository:", options.mount_from, ":pull"));
    GANTRY_ASSIGN_OR_RETURN(started, StartUpload(repo, scopes, &blob.digest, options.mount_from));
    if (started.first == 201) return absl::OkStatus();  // mounted
  } else {
    GANTRY_ASSIGN_OR_RETURN(started, StartUpload(repo, scopes, nullptr, ""));
  }
  Url location = started.second;

  int64_t sent = 0;
  if (options.chunk_size > 0) {
    while (sent < blob.size) {
      int64_t length = std::min(options.chunk_size, blob.size - sent);
      HttpRequest patch;
      patch.method = "PATCH";
      patch.url = location;
      patch.body_source = &source;
      patch.body_offset = sent;
      patch.body_length = length;
      patch.SetHeader("Content-Type", "application/octet-stream");
      patch.SetHeader("Content-Range", absl::StrCat(sent, "-", sent + length - 1));
      std::string chunk_what = absl::StrCat(what, ": chunk at ", sent);
      auto response = Do(repo.domain(), scopes, patch);
      if (!response.ok()) return Annotate(response.status(), chunk_what);
      if ((*response)->status() != 202) return HttpError(**response, chunk_what);
      GANTRY_ASSIGN_OR_RETURN(location, location.Resolve((*response)->Header("Location")));
      sent += length;
    }
  }
  // The final PUT carries the rest (all of a monolithic upload, nothing after chunks).
  HttpRequest put;
  put.method = "PUT";
  put.url = location;
  put.url.AddQuery("digest", blob.digest.str());
  put.SetHeader("Content-Type", "application/octet-stream");
  if (sent < blob.size) {
    put.body_source = &source;
    put.body_offset = sent;
  }
  auto response = Do(repo.domain(), scopes, put);
  if (!response.ok()) return Annotate(response.status(), what);
  if ((*response)->status() != 201) return HttpError(**response, what);
  return CheckDigestHeader(**response, blob.digest, what);
}

absl::StatusOr<Digest> RegistryClient::PushManifest(const Reference& ref,
                                                    absl::string_view media_type,
                                                    absl::string_view bytes) {
  std::string what = absl::StrCat("push manifest ", ref.String());
  Digest digest = Digest::FromBytes(bytes);
  if (ref.digest() && !(*ref.digest() == digest))
    return absl::InvalidArgumentError(absl::StrCat(what, ": content's digest is ", digest.str()));
  auto url = ApiUrl(ref, absl::StrCat("/manifests/", ref.Object()));
  if (!url.ok()) return Annotate(url.status(), what);
  HttpRequest request;
  request.method = "PUT";
  request.url = *url;
  request.body = std::string(bytes);
  request.SetHeader("Content-Type", std::string(media_type));
  auto response = Do(ref.domain(), PushScopes(ref), request);
  if (!response.ok()) return Annotate(response.status(), what);
  if ((*response)->status() != 201) return HttpError(**response, what);
  GANTRY_RETURN_IF_ERROR(CheckDigestHeader(**response, digest, what));
  return digest;
}

absl::Status RegistryClient::Tag(const Reference& ref, const std::string& tag) {
  GANTRY_ASSIGN_OR_RETURN(Manifest manifest, FetchManifest(ref));
  return PushManifest(ref.WithTag(tag), manifest.descriptor.media_type, manifest.bytes).status();
}

}  // namespace gantry::registry
