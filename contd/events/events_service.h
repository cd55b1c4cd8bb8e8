// Events: the gRPC face of the EventExchange.
#pragma once

#include "contd/events/exchange.h"
#include "contd/v1/events.grpc.pb.h"

namespace gantry::contd {

class EventsService final : public v1::Events::Service {
 public:
  explicit EventsService(EventExchange& exchange) : exchange_(exchange) {}

  grpc::Status Publish(grpc::ServerContext* context, const v1::PublishRequest* request,
                       google::protobuf::Empty* response) override;
  grpc::Status Forward(grpc::ServerContext* context, const v1::ForwardRequest* request,
                       google::protobuf::Empty* response) override;
  grpc::Status Subscribe(grpc::ServerContext* context, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::Envelope>* writer) override;

 private:
  EventExchange& exchange_;
};

}  // namespace gantry::contd
