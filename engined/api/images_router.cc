#include "engined/api/images_router.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/errors.h"
#include "engined/api/prune_filter.h"
#include "engined/containers/container.h"

namespace gantry::engined {
namespace {

// How a progress stream (pull, push) ends in failure, as the CLI reads it.
nlohmann::json StreamError(const absl::Status& status) {
  const std::string message(status.message());
  return {{"errorDetail", {{"message", message}}}, {"error", message}};
}

// "docker.io/library/busybox:latest" -> RepoTags "busybox:latest" and
// RepoDigests "busybox@sha256:<manifest>".
nlohmann::json RepoTags(const ImageDetails& image) {
  nlohmann::json tags = nlohmann::json::array();
  for (const std::string& name : image.names) {
    if (name.find('@') == std::string::npos) tags.push_back(FamiliarName(name));
  }
  return tags;
}

nlohmann::json RepoDigests(const ImageDetails& image) {
  nlohmann::json digests = nlohmann::json::array();
  for (const std::string& name : image.names) {
    std::string repository = FamiliarName(name.substr(0, name.find('@')));
    // Strip the tag: the colon after the last slash.
    const size_t slash = repository.rfind('/');
    const size_t colon = repository.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
      repository.resize(colon);
    }
    const std::string digest = absl::StrCat(repository, "@", image.target.digest());
    if (std::find(digests.begin(), digests.end(), digest) == digests.end())
      digests.push_back(digest);
  }
  return digests;
}

// The reference filter: "busybox" or "busybox:latest" for
// "docker.io/library/busybox:latest".
bool MatchesReference(const std::string& name, const std::string& value) {
  const std::string familiar = FamiliarName(name);
  return familiar == value || familiar.substr(0, familiar.rfind(':')) == value;
}

bool MatchesFilters(const ImageDetails& image, const nlohmann::json& labels,
                    const Filters& filters) {
  for (const auto& [name, values] : filters) {
    bool any = false;
    for (const std::string& value : values) {
      if (name == "reference") {
        for (const std::string& n : image.names) any |= MatchesReference(n, value);
      } else if (name == "label") {
        any |= HasLabel(labels, value);
      } else if (name == "dangling") {
        any |= (value == "true") == image.names.empty();
      } else {
        any = true;
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace

nlohmann::json ImageSummary(const ImageDetails& image, int64_t containers) {
  const auto& labels = image.resolved.config.config.labels;
  return {
      {"Id", image.id},
      {"ParentId", ""},
      {"RepoTags", RepoTags(image)},
      {"RepoDigests", RepoDigests(image)},
      {"Created", absl::ToUnixSeconds(image.created)},
      {"Size", image.size},
      {"SharedSize", -1},
      {"VirtualSize", image.size},
      {"Labels", labels.empty() ? nlohmann::json() : nlohmann::json(labels)},
      {"Containers", containers},
  };
}

std::optional<ImageUser> ImagesRouter::ImageUserOf(const std::string& image_id) {
  std::optional<ImageUser> user;
  for (const Container& c : containers_.List()) {
    if (c.image_id != image_id) continue;
    user = ImageUser{.container_id = c.id, .running = c.state.Running()};
    if (user->running) break;
  }
  return user;
}

void ImagesRouter::AddRoutes(Router& router) {
  router.Add("POST", "/images/create", [this](const HttpRequest& r) { return Create(r); });
  router.Add("GET", "/images/json", [this](const HttpRequest& r) { return List(r); });
  router.Add("GET", "/images/{name*}/json", [this](const HttpRequest& r) { return Inspect(r); });
  router.Add("GET", "/images/{name*}/history", [this](const HttpRequest& r) { return History(r); });
  router.Add("GET", "/images/get",
             [this](const HttpRequest& r) { return Save(r.query.GetAll("names")); });
  router.Add("GET", "/images/{name*}/get",
             [this](const HttpRequest& r) { return Save({r.Param("name")}); });
  router.Add("POST", "/images/load", [this](const HttpRequest& r) { return Load(r); });
  router.Add("POST", "/images/prune", [this](const HttpRequest& r) { return Prune(r); });
  router.Add("POST", "/images/{name*}/push",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               const std::string tag = r.query.Get("tag").value_or("");
               const std::string reference =
                   tag.empty() ? r.Param("name") : absl::StrCat(r.Param("name"), ":", tag);
               GANTRY_RETURN_IF_ERROR(images_.Find(reference).status());
               HttpResponse response;
               response.SetHeader("Content-Type", "application/json");
               response.stream = [this, reference](std::unique_ptr<ResponseStream> stream) {
                 absl::Status status = images_.Push(
                     reference, [&stream](const nlohmann::json& m) { (void)stream->WriteJson(m); });
                 if (!status.ok()) (void)stream->WriteJson(StreamError(status));
               };
               return response;
             });
  router.Add("POST", "/images/{name*}/tag",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               const std::string repo = r.query.Get("repo").value_or("");
               const std::string tag = r.query.Get("tag").value_or("");
               if (repo.empty()) return absl::InvalidArgumentError("repo: no repository given");
               GANTRY_RETURN_IF_ERROR(
                   images_.Tag(r.Param("name"), tag.empty() ? repo : absl::StrCat(repo, ":", tag)));
               return HttpResponse::Text(201, "");
             });
  router.Add("DELETE", "/images/{name*}",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_ASSIGN_OR_RETURN(
                   nlohmann::json records,
                   images_.Remove(r.Param("name"), r.query.GetBool("force"),
                                  [this](const std::string& id) { return ImageUserOf(id); }));
               return HttpResponse::Json(200, records);
             });
}

absl::StatusOr<HttpResponse> ImagesRouter::Create(const HttpRequest& request) {
  if (request.query.Has("fromSrc")) return Import(request);
  std::string from = request.query.Get("fromImage").value_or("");
  if (from.empty()) {
    return absl::InvalidArgumentError("images/create: neither fromImage nor fromSrc given");
  }
  const std::string tag = request.query.Get("tag").value_or("");
  if (!tag.empty()) {
    from = absl::StartsWith(tag, "sha256:") ? absl::StrCat(from, "@", tag)
                                            : absl::StrCat(from, ":", tag);
  }
  GANTRY_RETURN_IF_ERROR(NormalizeImageName(from).status());
  HttpResponse response;
  response.SetHeader("Content-Type", "application/json");
  response.stream = [this, from](std::unique_ptr<ResponseStream> stream) {
    absl::Status status = images_.Pull(
        from, [&stream](const nlohmann::json& message) { (void)stream->WriteJson(message); });
    if (!status.ok()) (void)stream->WriteJson(StreamError(status));
  };
  return response;
}

absl::StatusOr<HttpResponse> ImagesRouter::Import(const HttpRequest& request) {
  if (request.query.Get("fromSrc") != "-") {
    return absl::UnimplementedError(
        "images/create: fromSrc: only \"-\" (the request body) is supported");
  }
  RootfsImageOptions options{.name = "",
                             .changes = request.query.GetAll("changes"),
                             .message = request.query.Get("message").value_or(""),
                             .created = absl::Now()};
  const std::string repo = request.query.Get("repo").value_or("");
  const std::string tag = request.query.Get("tag").value_or("");
  if (!repo.empty()) {
    GANTRY_ASSIGN_OR_RETURN(options.name,
                            NormalizeImageName(tag.empty() ? repo : absl::StrCat(repo, ":", tag)));
  }
  GANTRY_ASSIGN_OR_RETURN(const std::string id, images_.ImportRootfs(request.body, options));
  return HttpResponse::Text(200, nlohmann::json{{"status", id}}.dump() + "\n", "application/json");
}

absl::StatusOr<HttpResponse> ImagesRouter::Save(std::vector<std::string> references) {
  if (references.empty()) return absl::InvalidArgumentError("images/get: no image names given");
  GANTRY_ASSIGN_OR_RETURN(std::vector<std::string> names, images_.ExportNames(references));
  HttpResponse response;
  response.SetHeader("Content-Type", "application/x-tar");
  response.stream = [this, names](std::unique_ptr<ResponseStream> stream) {
    // A failure after the first bytes can only cut the body short.
    (void)images_.Export(names, [&stream](absl::string_view data) { return stream->Write(data); });
  };
  return response;
}

absl::StatusOr<HttpResponse> ImagesRouter::Load(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<LoadedImage> loaded, images_.Load(request.body));
  std::string lines;
  for (const LoadedImage& image : loaded) {
    const std::string text = image.name.empty()
                                 ? absl::StrCat("Loaded image ID: ", image.id, "\n")
                                 : absl::StrCat("Loaded image: ", FamiliarName(image.name), "\n");
    lines += nlohmann::json{{"stream", text}}.dump() + "\n";
  }
  return HttpResponse::Text(200, std::move(lines), "application/json");
}

absl::StatusOr<HttpResponse> ImagesRouter::Prune(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Filters filters, request.query.GetFilters());
  GANTRY_ASSIGN_OR_RETURN(const PruneFilter filter,
                          PruneFilter::From(filters, absl::Now(), {"dangling"}));
  // Dangling images only, unless dangling=false ("docker image prune -a").
  const auto dangling = filters.find("dangling");
  const bool all = dangling != filters.end() &&
                   (dangling->second.count("false") != 0 || dangling->second.count("0") != 0);
  GANTRY_ASSIGN_OR_RETURN(PruneReport report,
                          images_.Prune(
                              [&](const ImageDetails& image) {
                                return (all || image.names.empty()) &&
                                       filter.Matches(image.resolved.config.config.labels,
                                                      image.created);
                              },
                              [this](const std::string& id) { return ImageUserOf(id); }));
  return HttpResponse::Json(
      200, {{"ImagesDeleted", report.deleted.empty() ? nlohmann::json() : report.deleted},
            {"SpaceReclaimed", report.space_reclaimed}});
}

absl::StatusOr<HttpResponse> ImagesRouter::List(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(Filters filters, request.query.GetFilters());
  GANTRY_ASSIGN_OR_RETURN(std::vector<ImageDetails> images, images_.List());
  nlohmann::json list = nlohmann::json::array();
  const auto references = filters.find("reference");
  for (ImageDetails& image : images) {
    if (!MatchesFilters(image, image.resolved.config.config.labels, filters)) continue;
    // Only the names the reference filter matches are listed, as Docker.
    if (references != filters.end()) {
      std::erase_if(image.names, [&](const std::string& name) {
        return std::none_of(
            references->second.begin(), references->second.end(),
            [&](const std::string& value) { return MatchesReference(name, value); });
      });
    }
    list.push_back(ImageSummary(image));
  }
  return HttpResponse::Json(200, list);
}

absl::StatusOr<HttpResponse> ImagesRouter::Inspect(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(ImageDetails image, images_.Find(request.Param("name")));
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json config, images_.ConfigJson(image));
  const contd::images::ImageConfig& parsed = image.resolved.config;
  return HttpResponse::Json(200, {
                                     {"Id", image.id},
                                     {"RepoTags", RepoTags(image)},
                                     {"RepoDigests", RepoDigests(image)},
                                     {"Parent", ""},
                                     {"Comment", ""},
                                     {"Created", DockerTime(image.created)},
                                     {"DockerVersion", config.value("docker_version", "")},
                                     {"Author", parsed.author},
                                     {"Config", config.value("config", nlohmann::json::object())},
                                     {"Architecture", parsed.platform.architecture},
                                     {"Variant", parsed.platform.variant.empty()
                                                     ? nlohmann::json()
                                                     : nlohmann::json(parsed.platform.variant)},
                                     {"Os", parsed.platform.os},
                                     {"Size", image.size},
                                     {"VirtualSize", image.size},
                                     {"GraphDriver", {{"Data", nullptr}, {"Name", "overlayfs"}}},
                                     {"RootFS", {{"Type", "layers"}, {"Layers", parsed.diff_ids}}},
                                     {"Metadata", {{"LastTagTime", "0001-01-01T00:00:00Z"}}},
                                 });
}

absl::StatusOr<HttpResponse> ImagesRouter::History(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(ImageDetails image, images_.Find(request.Param("name")));
  const auto& history = image.resolved.config.history;
  nlohmann::json entries = nlohmann::json::array();
  size_t layer = image.resolved.manifest.layers.size();
  // Newest first, as Docker; the image's ID on the newest entry only.
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    int64_t size = 0;
    if (!it->empty_layer && layer > 0) size = image.resolved.manifest.layers[--layer].size;
    absl::Time created = absl::UnixEpoch();
    std::string error;
    (void)absl::ParseTime(absl::RFC3339_full, it->created, &created, &error);
    entries.push_back({{"Id", it == history.rbegin() ? image.id : "<missing>"},
                       {"Created", absl::ToUnixSeconds(created)},
                       {"CreatedBy", it->created_by},
                       {"Tags", it == history.rbegin() ? RepoTags(image) : nlohmann::json()},
                       {"Size", size},
                       {"Comment", it->comment}});
  }
  return HttpResponse::Json(200, entries);
}

}  // namespace gantry::engined
