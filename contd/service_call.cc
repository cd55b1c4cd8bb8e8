#include "contd/service_call.h"

#include "common/log.h"

namespace gantry::contd {

void PublishOrLog(EventExchange& events, const std::string& ns, const char* topic,
                  const google::protobuf::Message& event) {
  absl::Status published = events.Publish(ns, topic, event);
  if (!published.ok()) log::Warning("publish ", topic, ": ", published.message());
}

}  // namespace gantry::contd
