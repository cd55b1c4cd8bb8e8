// Events: the gRPC face of the EventExchange. It uses gRPC's callback API so
// that an idle Subscribe stream holds no thread, and a client's cancel or
// contd's shutdown ends it at once.
#pragma once

#include "contd/events/exchange.h"
#include "contd/v1/events.grpc.pb.h"

namespace gantry::contd {

class EventsService final : public v1::Events::CallbackService {
 public:
  explicit EventsService(EventExchange& exchange) : exchange_(exchange) {}

  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* context,
                                    const v1::PublishRequest* request,
                                    google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* context,
                                    const v1::ForwardRequest* request,
                                    google::protobuf::Empty* response) override;
  grpc::ServerWriteReactor<v1::Envelope>* Subscribe(grpc::CallbackServerContext* context,
                                                    const v1::SubscribeRequest* request) override;

 private:
  EventExchange& exchange_;
};

}  // namespace gantry::contd
