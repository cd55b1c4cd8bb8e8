// /volumes: create, list (filters), inspect, remove and prune named
// volumes, over the VolumeService (moby's api/server/router/volume).
#pragma once

#include "engined/api/router.h"
#include "engined/volumes/volume_service.h"

namespace gantry::engined {

class VolumesRouter {
 public:
  explicit VolumesRouter(VolumeService& volumes) : volumes_(volumes) {}
  void AddRoutes(Router& router);

 private:
  absl::StatusOr<HttpResponse> List(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Create(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Prune(const HttpRequest& request);

  VolumeService& volumes_;
};

}  // namespace gantry::engined
