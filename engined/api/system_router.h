// /_ping, /version and /info: what the docker CLI asks first, to negotiate
// the API version and to describe the daemon.
#pragma once

#include <string>

#include "engined/api/router.h"
#include "engined/daemon/host_info.h"

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
  void AddRoutes(Router& router) const;

  HttpResponse Ping(const HttpRequest& request) const;
  nlohmann::json Version() const;
  nlohmann::json Info() const;

 private:
  DaemonIdentity identity_;
  HostInfo host_;
};

}  // namespace gantry::engined
