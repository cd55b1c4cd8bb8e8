// /images/...: pull, list, inspect, history, tag and remove, over the
// ImageService.
#pragma once

#include "engined/api/router.h"
#include "engined/containers/container_manager.h"
#include "engined/images/image_service.h"

namespace gantry::engined {

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

  ImageService& images_;
  ContainerManager& containers_;
};

}  // namespace gantry::engined
