// The event exchange delivers what subscribers' filters select, stamped and
// in order, and ends subscriptions on close without leaving anyone blocked.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "contd/events/exchange.h"
#include "contd/events/topics.h"
#include "contd/timestamps.h"
#include "contd/v1/event_types.pb.h"

namespace {

using gantry::contd::EventExchange;
using gantry::contd::Subscription;
using gantry::contd::v1::Envelope;
namespace topics = gantry::contd::topics;
using namespace std::chrono_literals;

std::unique_ptr<Subscription> Subscribe(EventExchange& exchange,
                                        const std::vector<std::string>& filters) {
  absl::StatusOr<std::unique_ptr<Subscription>> subscription = exchange.Subscribe(filters);
  INFO(subscription.status().ToString());
  REQUIRE(subscription.ok());
  return *std::move(subscription);
}

void PublishExit(EventExchange& exchange, const std::string& ns, const std::string& id) {
  gantry::contd::v1::TaskExit exit;
  exit.set_container_id(id);
  exit.set_exit_status(3);
  REQUIRE(exchange.Publish(ns, topics::kTaskExit, exit).ok());
}

void PublishCreate(EventExchange& exchange, const std::string& ns, const std::string& id) {
  gantry::contd::v1::ContainerCreate create;
  create.set_id(id);
  REQUIRE(exchange.Publish(ns, topics::kContainerCreate, create).ok());
}

// The container id of each envelope waiting now.
std::vector<std::string> Drain(Subscription& subscription) {
  std::vector<std::string> ids;
  Envelope envelope;
  while (*subscription.Next(&envelope, 0ms)) {
    gantry::contd::v1::TaskExit exit;
    gantry::contd::v1::ContainerCreate create;
    if (envelope.event().UnpackTo(&exit)) {
      ids.push_back(envelope.namespace_() + "/" + exit.container_id());
    } else if (envelope.event().UnpackTo(&create)) {
      ids.push_back(envelope.namespace_() + "/" + create.id());
    }
  }
  return ids;
}

}  // namespace

TEST_CASE("a subscriber gets envelopes with namespace, topic, time and event", "[contd][events]") {
  EventExchange exchange;
  auto subscription = Subscribe(exchange, {});
  const auto before = gantry::contd::Now();
  PublishExit(exchange, "default", "web");

  Envelope envelope;
  REQUIRE(*subscription->Next(&envelope, 1000ms));
  CHECK(envelope.namespace_() == "default");
  CHECK(envelope.topic() == "/tasks/exit");
  CHECK(envelope.timestamp() >= before);
  gantry::contd::v1::TaskExit exit;
  REQUIRE(envelope.event().UnpackTo(&exit));
  CHECK(exit.container_id() == "web");
  CHECK(exit.exit_status() == 3);
  // Nothing more: Next times out.
  CHECK_FALSE(*subscription->Next(&envelope, 10ms));
}

TEST_CASE("filters select by topic, namespace and event fields", "[contd][events]") {
  EventExchange exchange;
  auto by_topic = Subscribe(exchange, {"topic==/tasks/exit"});
  auto by_namespace = Subscribe(exchange, {"namespace==team-a"});
  auto by_field = Subscribe(exchange, {"event.container_id==db", "event.id~=^we"});
  auto by_both = Subscribe(exchange, {"topic~=^/containers/,namespace==default"});
  PublishExit(exchange, "default", "web");
  PublishExit(exchange, "team-a", "db");
  PublishCreate(exchange, "default", "web");
  PublishCreate(exchange, "team-a", "cache");

  CHECK(Drain(*by_topic) == std::vector<std::string>{"default/web", "team-a/db"});
  CHECK(Drain(*by_namespace) == std::vector<std::string>{"team-a/db", "team-a/cache"});
  CHECK(Drain(*by_field) == std::vector<std::string>{"team-a/db", "default/web"});
  CHECK(Drain(*by_both) == std::vector<std::string>{"default/web"});
}

TEST_CASE("bad topics, namespaces and filters are refused, naming them", "[contd][events]") {
  EventExchange exchange;
  gantry::contd::v1::TaskOOM oom;
  for (const char* topic : {"", "tasks/oom", "/", "/tasks//oom", "/tasks/oom!"}) {
    absl::Status status = exchange.Publish("default", topic, oom);
    INFO(topic);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()),
               Catch::Contains(std::string("topic \"") + topic + "\""));
  }
  absl::Status bad_ns = exchange.Publish("-x", topics::kTaskOOM, oom);
  CHECK(bad_ns.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(bad_ns.message()), Catch::Contains("namespace \"-x\""));
  auto bad_filter = exchange.Subscribe({"topic=="});
  CHECK(bad_filter.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("close wakes a blocked subscriber and refuses new ones", "[contd][events]") {
  EventExchange exchange;
  auto subscription = Subscribe(exchange, {});
  PublishExit(exchange, "default", "last");
  std::promise<absl::StatusCode> ended;
  std::thread waiter([&] {
    Envelope envelope;
    absl::StatusOr<bool> next;
    while ((next = subscription->Next(&envelope, 60000ms)).ok()) {
    }
    ended.set_value(next.status().code());
  });
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  exchange.Close();
  auto result = ended.get_future();
  REQUIRE(result.wait_for(5s) == std::future_status::ready);
  CHECK(result.get() == absl::StatusCode::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  waiter.join();
  CHECK(exchange.Subscribe({}).status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("cancel ends one subscription; a slow subscriber is cut off", "[contd][events]") {
  EventExchange exchange;
  auto cancelled = Subscribe(exchange, {});
  auto slow = Subscribe(exchange, {});
  cancelled->Cancel();
  Envelope envelope;
  CHECK(cancelled->Next(&envelope, 0ms).status().code() == absl::StatusCode::kCancelled);
  for (size_t i = 0; i <= EventExchange::kMaxQueued; ++i) PublishExit(exchange, "default", "x");
  CHECK(slow->Next(&envelope, 0ms).status().code() == absl::StatusCode::kResourceExhausted);
  // A dropped subscription can go away before or after the exchange's close.
  slow.reset();
  exchange.Close();
}

TEST_CASE("a ready callback hears of each event and of the end", "[contd][events]") {
  EventExchange exchange;
  auto subscription = Subscribe(exchange, {"topic==/tasks/exit"});
  std::vector<std::string> heard;
  subscription->SetReadyCallback([&] {
    Envelope envelope;
    absl::StatusOr<bool> next = subscription->Next(&envelope, 0ms);
    heard.push_back(!next.ok() ? "end" : *next ? envelope.topic() : "nothing");
  });
  PublishExit(exchange, "default", "web");
  PublishCreate(exchange, "default", "web");  // filtered out: no call
  exchange.Close();
  CHECK(heard == std::vector<std::string>{"/tasks/exit", "end"});
}
