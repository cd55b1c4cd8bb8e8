// contd's in-process event bus. Services publish lifecycle events; each
// subscriber (an Events.Subscribe stream, or a service waiting for a task's
// exit) gets its own queue of the envelopes its filters select.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/filters.h"
#include "contd/v1/events.pb.h"

namespace gantry::contd {

class EventExchange;

// A subscriber's queue. Destroying it unsubscribes; it must not outlive the
// exchange.
class Subscription {
 public:
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  // Waits up to `timeout` for the next envelope: true with *out set, false
  // when the time ran out. UNAVAILABLE once the exchange is closed (server
  // shutdown), RESOURCE_EXHAUSTED when this subscriber fell too far behind.
  absl::StatusOr<bool> Next(v1::Envelope* out, std::chrono::milliseconds timeout);

  // Ends the subscription from another thread: Next returns CANCELLED.
  void Cancel();

  // For consumers that do not block in Next (a gRPC reactor): `ready` runs
  // whenever an envelope is queued or the subscription ends, on the thread
  // that published or ended it, possibly under the exchange's lock. It may
  // call Next (with a zero timeout) but must not block or publish.
  void SetReadyCallback(std::function<void()> ready);

 private:
  friend class EventExchange;
  Subscription(EventExchange& exchange, Filter filter)
      : exchange_(exchange), filter_(std::move(filter)) {}

  // Called by the exchange, under its lock.
  void Deliver(const v1::Envelope& envelope);
  void End(absl::Status why);
  // Wakes Next and runs the ready callback; called without mu_ held.
  void NotifyReady();

  EventExchange& exchange_;
  const Filter filter_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<v1::Envelope> queue_;
  absl::Status ended_;  // not OK once ended
  std::function<void()> ready_callback_;
};

class EventExchange {
 public:
  // A subscriber this many envelopes behind is dropped rather than letting
  // contd's memory grow without bound.
  static constexpr size_t kMaxQueued = 4096;

  EventExchange() = default;
  EventExchange(const EventExchange&) = delete;
  EventExchange& operator=(const EventExchange&) = delete;
  ~EventExchange();

  // Wraps the event in an envelope stamped with the current time and hands
  // it to every matching subscriber. INVALID_ARGUMENT naming a bad namespace
  // or topic (topics are "/" followed by identifiers joined by "/").
  absl::Status Publish(absl::string_view ns, absl::string_view topic,
                       const google::protobuf::Message& event);
  // Same, for an event packed already (Events.Publish receives it so).
  absl::Status PublishPacked(absl::string_view ns, absl::string_view topic,
                             const google::protobuf::Any& event);
  // Hands on an envelope made elsewhere (a shim's), keeping its timestamp.
  absl::Status Forward(const v1::Envelope& envelope);

  // Envelopes published from now on that match any of the filters (all when
  // none). Filter fields: topic, namespace, event.<field> (the event's
  // scalar fields, by name). INVALID_ARGUMENT naming a bad filter;
  // UNAVAILABLE once closed.
  absl::StatusOr<std::unique_ptr<Subscription>> Subscribe(const std::vector<std::string>& filters);

  // Ends every subscription (their Next returns UNAVAILABLE) and refuses new
  // ones; for server shutdown, so blocked handlers return. Idempotent.
  void Close();

 private:
  friend class Subscription;
  void Unsubscribe(Subscription* subscription);

  std::mutex mu_;
  std::vector<Subscription*> subscriptions_;
  bool closed_ = false;
};

// INVALID_ARGUMENT naming the topic unless it is "/" followed by
// identifiers joined by "/", as containerd requires.
absl::Status ValidateTopic(absl::string_view topic);

}  // namespace gantry::contd
