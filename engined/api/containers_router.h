// /containers/...: the Docker Engine API's container endpoints over the
// ContainerManager. Handlers decode the request, call, and encode; attach,
// wait and logs stream on threads of their own.
#pragma once

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

  ContainerManager& containers_;
};

// Docker's stdcopy framing of one chunk: [stream, 0, 0, 0, size (big
// endian)] then the bytes.
std::string StdcopyFrame(int stream, absl::string_view data);

}  // namespace gantry::engined
