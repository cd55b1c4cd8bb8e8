// An Events.Subscribe stream on a contd under test.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <catch2/catch.hpp>

#include "contd/v1/events.grpc.pb.h"

namespace gantry::testing {

// An open Events.Subscribe stream; the server has registered it once the
// constructor returns.
class Subscriber {
 public:
  Subscriber(const std::shared_ptr<grpc::Channel>& channel, const std::vector<std::string>& filters)
      : stub_(contd::v1::Events::NewStub(channel)) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    contd::v1::SubscribeRequest request;
    for (const std::string& f : filters) request.add_filters(f);
    reader_ = stub_->Subscribe(&context_, request);
    reader_->WaitForInitialMetadata();
  }

  contd::v1::Envelope Next() {
    contd::v1::Envelope envelope;
    REQUIRE(reader_->Read(&envelope));
    return envelope;
  }

  // Cancels the stream and returns how it ended.
  grpc::Status Cancel() {
    context_.TryCancel();
    return Finish();
  }

  // Reads to the end of the stream and returns how it ended.
  grpc::Status Finish() {
    contd::v1::Envelope ignored;
    while (reader_->Read(&ignored)) {
    }
    return reader_->Finish();
  }

 private:
  std::unique_ptr<contd::v1::Events::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<contd::v1::Envelope>> reader_;
};

}  // namespace gantry::testing
