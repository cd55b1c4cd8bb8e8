// GET /events: the daemon's events, replayed from `since` and followed
// until `until` (or for ever), filtered by type, event, container, image,
// label as dockerd's.
#pragma once

#include "engined/api/router.h"
#include "engined/daemon/event_hub.h"

namespace gantry::engined {

class EventsRouter {
 public:
  explicit EventsRouter(EventHub& events) : events_(events) {}
  void AddRoutes(Router& router);

 private:
  absl::StatusOr<HttpResponse> Events(const HttpRequest& request);

  EventHub& events_;
};

}  // namespace gantry::engined
