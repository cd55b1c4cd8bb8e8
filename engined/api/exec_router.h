// /containers/{id}/exec and /exec/...: docker exec over the ExecManager.
#pragma once

#include "engined/api/router.h"
#include "engined/containers/exec_manager.h"

namespace gantry::engined {

class ExecRouter {
 public:
  explicit ExecRouter(ExecManager& execs) : execs_(execs) {}
  void AddRoutes(Router& router);

 private:
  absl::StatusOr<HttpResponse> Start(const HttpRequest& request);

  ExecManager& execs_;
};

}  // namespace gantry::engined
