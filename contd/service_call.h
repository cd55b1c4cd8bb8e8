// What every contd gRPC handler does around its store call: resolve the
// request's namespace, map the absl::Status, and publish events without
// letting a failed publish fail a change that is already stored.
#pragma once

#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "contd/events/exchange.h"
#include "contd/grpc_status.h"
#include "contd/namespaces.h"

namespace gantry::contd {

// Runs fn(namespace) -> absl::Status for one RPC and maps its status.
template <typename Fn>
grpc::Status HandleInNamespace(grpc::ServerContextBase* context, Fn&& fn) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  return ToGrpcStatus(fn(*ns));
}

// Publishes, logging (not returning) a failure.
void PublishOrLog(EventExchange& events, const std::string& ns, const char* topic,
                  const google::protobuf::Message& event);

}  // namespace gantry::contd
