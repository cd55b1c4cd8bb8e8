// /system/df and /containers/prune: what images, containers and volumes
// take on disk, and removing the stopped containers, over the ImageService and the
// ContainerManager.
#pragma once

#include "engined/api/router.h"
#include "engined/containers/container_manager.h"
#include "engined/images/image_service.h"
#include "engined/volumes/volume_service.h"

namespace gantry::engined {

class DiskUsageRouter {
 public:
  DiskUsageRouter(ImageService& images, ContainerManager& containers, VolumeService& volumes)
      : images_(images), containers_(containers), volumes_(volumes) {}
  void AddRoutes(Router& router);

 private:
  absl::StatusOr<HttpResponse> DiskUsage(const HttpRequest& request);
  absl::StatusOr<HttpResponse> PruneContainers(const HttpRequest& request);

  ImageService& images_;
  ContainerManager& containers_;
  VolumeService& volumes_;
};

}  // namespace gantry::engined
