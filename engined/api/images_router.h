// /images/...: pull, import, list, inspect, history, tag, remove, save,
// load and prune, over the ImageService.
#pragma once

#include "engined/api/router.h"
#include "engined/containers/container_manager.h"
#include "engined/images/image_service.h"

namespace gantry::engined {

// One entry of GET /images/json (and of /system/df's Images); `containers`
// counts the containers using it, -1 when not counted.
nlohmann::json ImageSummary(const ImageDetails& image, int64_t containers = -1);

class ImagesRouter {
 public:
  ImagesRouter(ImageService& images, ContainerManager& containers)
      : images_(images), containers_(containers) {}
  void AddRoutes(Router& router);

 private:
  absl::StatusOr<HttpResponse> Create(const HttpRequest& request);
  absl::StatusOr<HttpResponse> List(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Inspect(const HttpRequest& request);
  absl::StatusOr<HttpResponse> History(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Import(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Save(std::vector<std::string> references);
  absl::StatusOr<HttpResponse> Load(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Prune(const HttpRequest& request);
  // The container using an image, for rmi's conflicts and prune.
  std::optional<ImageUser> ImageUserOf(const std::string& image_id);

  ImageService& images_;
  ContainerManager& containers_;
};

}  // namespace gantry::engined
