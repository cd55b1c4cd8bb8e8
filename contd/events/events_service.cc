#include "contd/events/events_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "contd/grpc_status.h"
#include "contd/namespaces.h"

namespace gantry::contd {
namespace {

// The synchronous gRPC API tells a handler of a client's cancel only through
// IsCancelled(), so a quiet stream looks for it this often. Server shutdown
// and new events wake the handler at once.
constexpr std::chrono::milliseconds kCancelCheckInterval(200);

}  // namespace

grpc::Status EventsService::Publish(grpc::ServerContext* context, const v1::PublishRequest* request,
                                    google::protobuf::Empty* /*response*/) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  if (!request->has_event()) return ToGrpcStatus(absl::InvalidArgumentError("event: must be set"));
  return ToGrpcStatus(exchange_.PublishPacked(*ns, request->topic(), request->event()));
}

grpc::Status EventsService::Forward(grpc::ServerContext* /*context*/,
                                    const v1::ForwardRequest* request,
                                    google::protobuf::Empty* /*response*/) {
  if (!request->has_envelope()) {
    return ToGrpcStatus(absl::InvalidArgumentError("envelope: must be set"));
  }
  return ToGrpcStatus(exchange_.Forward(request->envelope()));
}

grpc::Status EventsService::Subscribe(grpc::ServerContext* context,
                                      const v1::SubscribeRequest* request,
                                      grpc::ServerWriter<v1::Envelope>* writer) {
  absl::StatusOr<std::unique_ptr<Subscription>> subscription =
      exchange_.Subscribe({request->filters().begin(), request->filters().end()});
  if (!subscription.ok()) return ToGrpcStatus(subscription.status());
  // Sent at once so that the client knows events are flowing from now on.
  writer->SendInitialMetadata();
  v1::Envelope envelope;
  while (!context->IsCancelled()) {
    absl::StatusOr<bool> next = (*subscription)->Next(&envelope, kCancelCheckInterval);
    if (!next.ok()) return ToGrpcStatus(next.status());
    if (*next && !writer->Write(envelope)) break;  // the client has gone
  }
  return grpc::Status::CANCELLED;
}

}  // namespace gantry::contd
