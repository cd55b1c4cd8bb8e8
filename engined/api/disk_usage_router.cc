#include "engined/api/disk_usage_router.h"

#include <map>
#include <set>

#include "absl/time/clock.h"
#include "common/errors.h"
#include "common/log.h"
#include "engined/api/images_router.h"
#include "engined/api/prune_filter.h"
#include "engined/containers/container.h"

namespace gantry::engined {

void DiskUsageRouter::AddRoutes(Router& router) {
  router.Add("GET", "/system/df", [this](const HttpRequest& r) { return DiskUsage(r); });
  router.Add("POST", "/containers/prune",
             [this](const HttpRequest& r) { return PruneContainers(r); });
}

absl::StatusOr<HttpResponse> DiskUsageRouter::DiskUsage(const HttpRequest&) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<ImageDetails> images, images_.List());
  const std::vector<Container> containers = containers_.List();
  std::map<std::string, int64_t> users;  // image ID -> containers using it
  nlohmann::json container_list = nlohmann::json::array();
  for (const Container& c : containers) {
    ++users[c.image_id];
    nlohmann::json summary = c.Summary();
    // Sizes are not measured: the writable layer is the snapshot's upper dir.
    summary["SizeRw"] = 0;
    summary["SizeRootFs"] = 0;
    container_list.push_back(std::move(summary));
  }
  // Layers shared by several images count once.
  std::set<std::string> layers;
  int64_t layers_size = 0;
  nlohmann::json image_list = nlohmann::json::array();
  for (const ImageDetails& image : images) {
    for (const auto& layer : image.resolved.manifest.layers) {
      if (layers.insert(layer.digest).second) layers_size += layer.size;
    }
    nlohmann::json summary = ImageSummary(image, users[image.id]);
    summary["SharedSize"] = 0;
    image_list.push_back(std::move(summary));
  }
  nlohmann::json volume_list = nlohmann::json::array();
  for (const Volume& volume : volumes_.List()) {
    nlohmann::json json = volume.ToJson();
    json["UsageData"] = {{"Size", volumes_.Size(volume)},
                         {"RefCount", volumes_.References(volume.name).size()}};
    volume_list.push_back(std::move(json));
  }
  return HttpResponse::Json(200, {{"LayersSize", layers_size},
                                  {"Images", image_list},
                                  {"Containers", container_list},
                                  {"Volumes", volume_list},
                                  {"BuildCache", nlohmann::json::array()}});
}

absl::StatusOr<HttpResponse> DiskUsageRouter::PruneContainers(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(const Filters filters, request.query.GetFilters());
  GANTRY_ASSIGN_OR_RETURN(const PruneFilter filter, PruneFilter::From(filters, absl::Now()));
  nlohmann::json deleted = nlohmann::json::array();
  for (const Container& c : containers_.List()) {
    if (c.state.Running() || c.state.status == "restarting") continue;
    if (!filter.Matches(c.config.value("Labels", nlohmann::json::object()), c.created)) continue;
    // One that cannot be removed (started meanwhile) stays, as with Docker.
    if (absl::Status removed = containers_.Remove(c.id, /*force=*/false); !removed.ok()) {
      log::Warning("containers/prune: ", c.id, ": ", removed.message());
      continue;
    }
    deleted.push_back(c.id);
  }
  return HttpResponse::Json(
      200,
      {{"ContainersDeleted", deleted.empty() ? nlohmann::json() : deleted}, {"SpaceReclaimed", 0}});
}

}  // namespace gantry::engined
