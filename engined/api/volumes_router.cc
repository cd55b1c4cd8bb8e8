#include "engined/api/volumes_router.h"

#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/json_util.h"
#include "engined/api/prune_filter.h"

namespace gantry::engined {
namespace {}  // namespace

void VolumesRouter::AddRoutes(Router& router) {
  router.Add("GET", "/volumes", [this](const HttpRequest& r) { return List(r); });
  router.Add("POST", "/volumes/create", [this](const HttpRequest& r) { return Create(r); });
  router.Add("POST", "/volumes/prune", [this](const HttpRequest& r) { return Prune(r); });
  router.Add("GET", "/volumes/{name}",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_ASSIGN_OR_RETURN(Volume volume, volumes_.Get(r.Param("name")));
               return HttpResponse::Json(200, volume.ToJson());
             });
  router.Add("DELETE", "/volumes/{name}",
             [this](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
               GANTRY_RETURN_IF_ERROR(volumes_.Remove(r.Param("name"), r.query.GetBool("force")));
               return HttpResponse::Text(204, "");
             });
}

absl::StatusOr<HttpResponse> VolumesRouter::List(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(const Filters filters, request.query.GetFilters());
  VolumeFilters wanted;
  std::set<std::string> labels;  // every one must match
  for (const auto& [name, values] : filters) {
    if (name == "name") {
      wanted.names.assign(values.begin(), values.end());
    } else if (name == "driver") {
      wanted.drivers.assign(values.begin(), values.end());
    } else if (name == "label") {
      labels = values;
    } else if (name == "dangling") {
      for (const std::string& value : values) {
        if (value != "true" && value != "1" && value != "false" && value != "0") {
          return absl::InvalidArgumentError(absl::StrCat("invalid filter 'dangling=", value, "'"));
        }
        wanted.dangling = value == "true" || value == "1";
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter '", name, "'"));
    }
  }
  nlohmann::json list = nlohmann::json::array();
  for (const Volume& volume : volumes_.List(wanted)) {
    const nlohmann::json json = volume.ToJson();
    if (std::all_of(labels.begin(), labels.end(),
                    [&](const std::string& l) { return HasLabel(json["Labels"], l); })) {
      list.push_back(json);
    }
  }
  return HttpResponse::Json(200, {{"Volumes", list}, {"Warnings", nlohmann::json()}});
}

absl::StatusOr<HttpResponse> VolumesRouter::Create(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(nlohmann::json body, DecodeJsonBody(request));
  GANTRY_ASSIGN_OR_RETURN(
      Volume volume, volumes_.Create(body.value("Name", ""), body.value("Driver", ""),
                                     StringMembers(body.value("Labels", nlohmann::json())),
                                     StringMembers(body.value("DriverOpts", nlohmann::json()))));
  return HttpResponse::Json(201, volume.ToJson());
}

absl::StatusOr<HttpResponse> VolumesRouter::Prune(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(const Filters filters, request.query.GetFilters());
  GANTRY_ASSIGN_OR_RETURN(const PruneFilter filter,
                          PruneFilter::From(filters, absl::Now(), {"all"}));
  // Since API 1.42 only anonymous volumes go, unless all=true.
  bool all = request.version < ApiVersion{1, 42};
  if (auto it = filters.find("all"); it != filters.end()) {
    all = it->second.count("true") || it->second.count("1");
  }
  auto [removed, reclaimed] = volumes_.Prune([&](const Volume& v) {
    return (all || v.anonymous()) && filter.Matches(nlohmann::json(v.labels), v.created);
  });
  return HttpResponse::Json(
      200, {{"VolumesDeleted", removed.empty() ? nlohmann::json() : nlohmann::json(removed)},
            {"SpaceReclaimed", reclaimed}});
}

}  // namespace gantry::engined
