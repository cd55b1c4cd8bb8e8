// /containers/...: the Docker Engine API's container endpoints over the
// ContainerManager. Handlers decode the request, call, and encode; attach,
// wait and logs stream on threads of their own.
#pragma once

#include "engined/api/attach_session.h"
#include "engined/api/router.h"
#include "engined/containers/container_manager.h"

namespace gantry::engined {

class ContainersRouter {
 public:
  explicit ContainersRouter(ContainerManager& containers) : containers_(containers) {}
  void AddRoutes(Router& router);

 private:
  absl::StatusOr<HttpResponse> Create(const HttpRequest& request);
  absl::StatusOr<HttpResponse> List(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Wait(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Attach(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Logs(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Top(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Stats(const HttpRequest& request);
  // GET/HEAD /containers/{id}/archive (docker cp out), PUT (docker cp in).
  absl::StatusOr<HttpResponse> GetArchive(const HttpRequest& request);
  absl::StatusOr<HttpResponse> PutArchive(const HttpRequest& request);

  ContainerManager& containers_;
};

}  // namespace gantry::engined
