// /_ping, /version and /info: what the docker CLI asks first, to negotiate
// the API version and to describe the daemon.
#pragma once

#include <atomic>

#include <string>

#include "engined/api/router.h"
#include "engined/containers/container_manager.h"
#include "engined/daemon/host_info.h"
#include "engined/images/image_service.h"

namespace gantry::engined {

// The daemon's own facts, fixed at start-up.
struct DaemonIdentity {
  std::string id;
  std::string version;
  std::string git_commit;
  std::string build_time;
  std::string data_root;
  std::string runtime_path;  // ocirun
  bool debug = false;
};

class SystemRouter {
 public:
  SystemRouter(DaemonIdentity identity, HostInfo host);
  // What /info counts: containers by state, and images. Zero without.
  void SetInventory(ContainerManager* containers, ImageService* images) {
    containers_ = containers;
    images_ = images;
  }
  void AddRoutes(Router& router) const;
  // SIGHUP reloaded daemon.json's debug.
  void SetDebug(bool debug) { debug_ = debug; }

  HttpResponse Ping(const HttpRequest& request) const;
  nlohmann::json Version() const;
  nlohmann::json Info() const;

 private:
  DaemonIdentity identity_;
  std::atomic<bool> debug_;
  HostInfo host_;
  ContainerManager* containers_ = nullptr;
  ImageService* images_ = nullptr;
};

}  // namespace gantry::engined
