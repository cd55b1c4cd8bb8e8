// /networks: create, list (filters), inspect, remove, prune, and connect or
// disconnect containers, over the NetworkManager and the ContainerManager
// (moby's api/server/router/network).
#pragma once

#include "engined/api/router.h"
#include "engined/containers/container_manager.h"
#include "engined/network/network_manager.h"

namespace gantry::engined {

class NetworksRouter {
 public:
  NetworksRouter(network::NetworkManager& networks, ContainerManager& containers)
      : networks_(networks), containers_(containers) {}
  void AddRoutes(Router& router);

 private:
  absl::StatusOr<HttpResponse> List(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Create(const HttpRequest& request);
  absl::StatusOr<HttpResponse> Prune(const HttpRequest& request);

  network::NetworkManager& networks_;
  ContainerManager& containers_;
};

}  // namespace gantry::engined
