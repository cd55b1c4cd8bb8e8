#include "contd/events/events_service.h"

#include <chrono>
#include <mutex>

#include "contd/grpc_status.h"
#include "contd/namespaces.h"

namespace gantry::contd {
namespace {

grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                      const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// One Subscribe stream: writes envelopes as the subscription queues them,
// one write in flight at a time, and finishes with the reason the
// subscription ended (client cancel, server shutdown, subscriber too slow).
class SubscribeReactor final : public grpc::ServerWriteReactor<v1::Envelope> {
 public:
  explicit SubscribeReactor(absl::StatusOr<std::unique_ptr<Subscription>> subscription) {
    if (!subscription.ok()) {
      finished_ = true;
      Finish(ToGrpcStatus(subscription.status()));
      return;
    }
    subscription_ = *std::move(subscription);
    // Sent first so that the client knows events are flowing from now on.
    writing_ = true;
    StartSendInitialMetadata();
    subscription_->SetReadyCallback([this] { WriteNext(); });
  }

  void OnSendInitialMetadataDone(bool ok) override { WriteDone(ok); }
  void OnWriteDone(bool ok) override { WriteDone(ok); }
  void OnCancel() override {
    if (subscription_ != nullptr) subscription_->Cancel();
  }
  void OnDone() override {
    // Unsubscribing waits out a publisher running our ready callback; none
    // runs after it.
    subscription_.reset();
    delete this;
  }

 private:
  void WriteDone(bool ok) {
    if (!ok) {  // the stream is broken (client gone): no more writes
      subscription_->Cancel();
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!finished_) {
        finished_ = true;
        Finish(grpc::Status::CANCELLED);
      }
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
    }
    WriteNext();
  }

  void WriteNext() {
    std::lock_guard<std::mutex> lock(mu_);
    if (writing_ || finished_) return;
    absl::StatusOr<bool> next = subscription_->Next(&current_, std::chrono::milliseconds(0));
    if (!next.ok()) {
      finished_ = true;
      Finish(ToGrpcStatus(next.status()));
    } else if (*next) {
      writing_ = true;
      StartWrite(&current_);
    }
  }

  std::unique_ptr<Subscription> subscription_;
  std::mutex mu_;
  bool writing_ = false;
  bool finished_ = false;
  v1::Envelope current_;  // the envelope being written
};

}  // namespace

grpc::ServerUnaryReactor* EventsService::Publish(grpc::CallbackServerContext* context,
                                                 const v1::PublishRequest* request,
                                                 google::protobuf::Empty* /*response*/) {
  absl::StatusOr<std::string> ns = RequestNamespace(*context);
  if (!ns.ok()) return FinishUnary(context, ns.status());
  if (!request->has_event()) {
    return FinishUnary(context, absl::InvalidArgumentError("event: must be set"));
  }
  return FinishUnary(context, exchange_.PublishPacked(*ns, request->topic(), request->event()));
}

grpc::ServerUnaryReactor* EventsService::Forward(grpc::CallbackServerContext* context,
                                                 const v1::ForwardRequest* request,
                                                 google::protobuf::Empty* /*response*/) {
  if (!request->has_envelope()) {
    return FinishUnary(context, absl::InvalidArgumentError("envelope: must be set"));
  }
  return FinishUnary(context, exchange_.Forward(request->envelope()));
}

grpc::ServerWriteReactor<v1::Envelope>* EventsService::Subscribe(
    grpc::CallbackServerContext* /*context*/, const v1::SubscribeRequest* request) {
  return new SubscribeReactor(
      exchange_.Subscribe({request->filters().begin(), request->filters().end()}));
}

}  // namespace gantry::contd
