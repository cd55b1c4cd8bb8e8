#include "contd/events/exchange.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "contd/identifiers.h"
#include "contd/namespaces.h"
#include "contd/timestamps.h"

namespace gantry::contd {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The scalar at `path` inside the packed event, found by field names through
// reflection, so filters work on any event type linked into contd.
std::optional<std::string> EventField(const google::protobuf::Any& event,
                                      std::vector<std::string>::const_iterator begin,
                                      std::vector<std::string>::const_iterator end) {
  std::string type_name;
  if (begin == end || !google::protobuf::Any::ParseAnyTypeUrl(event.type_url(), &type_name)) {
    return std::nullopt;
  }
  const google::protobuf::Descriptor* type =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type_name);
  if (type == nullptr) return std::nullopt;
  std::unique_ptr<Message> unpacked(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
  if (!event.UnpackTo(unpacked.get())) return std::nullopt;

  const Message* message = unpacked.get();
  for (auto it = begin; it != end; ++it) {
    const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(*it);
    if (field == nullptr || field->is_repeated()) return std::nullopt;
    const google::protobuf::Reflection* reflection = message->GetReflection();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      message = &reflection->GetMessage(*message, field);
      continue;
    }
    if (it + 1 != end) return std::nullopt;  // a scalar has no fields
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        return reflection->GetString(*message, field);
      case FieldDescriptor::CPPTYPE_INT32:
        return absl::StrCat(reflection->GetInt32(*message, field));
      case FieldDescriptor::CPPTYPE_INT64:
        return absl::StrCat(reflection->GetInt64(*message, field));
      case FieldDescriptor::CPPTYPE_UINT32:
        return absl::StrCat(reflection->GetUInt32(*message, field));
      case FieldDescriptor::CPPTYPE_UINT64:
        return absl::StrCat(reflection->GetUInt64(*message, field));
      case FieldDescriptor::CPPTYPE_BOOL:
        return reflection->GetBool(*message, field) ? "true" : "false";
      case FieldDescriptor::CPPTYPE_ENUM:
        return reflection->GetEnum(*message, field)->name();
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<std::string> EnvelopeField(const v1::Envelope& envelope,
                                         const std::vector<std::string>& path) {
  if (path.empty()) return std::nullopt;
  if (path.size() == 1 && path[0] == "topic") return envelope.topic();
  if (path.size() == 1 && path[0] == "namespace") return envelope.namespace_();
  if (path[0] == "event") return EventField(envelope.event(), path.begin() + 1, path.end());
  return std::nullopt;
}

}  // namespace

absl::Status ValidateTopic(absl::string_view topic) {
  if (topic.empty() || topic[0] != '/' || topic.size() == 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic \"", topic, "\": must be \"/\" followed by at least one component"));
  }
  for (absl::string_view component : absl::StrSplit(topic.substr(1), '/')) {
    GANTRY_RETURN_IF_ERROR(
        ValidateIdentifier(absl::StrCat("topic \"", topic, "\": component"), component));
  }
  return absl::OkStatus();
}

Subscription::~Subscription() { exchange_.Unsubscribe(this); }

absl::StatusOr<bool> Subscription::Next(v1::Envelope* out, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  ready_.wait_for(lock, timeout, [this] { return !queue_.empty() || !ended_.ok(); });
  // Queued envelopes go out before the reason the subscription ended.
  if (!queue_.empty()) {
    *out = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }
  if (!ended_.ok()) return ended_;
  return false;
}

void Subscription::Cancel() { End(absl::CancelledError("subscription cancelled")); }

void Subscription::Deliver(const v1::Envelope& envelope) {
  if (!filter_.Match([&envelope](const std::vector<std::string>& path) {
        return EnvelopeField(envelope, path);
      })) {
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ended_.ok()) return;
    if (queue_.size() >= EventExchange::kMaxQueued) {
      queue_.clear();
      ended_ = absl::ResourceExhaustedError(absl::StrCat(
          "event subscriber fell more than ", EventExchange::kMaxQueued, " events behind"));
    } else {
      queue_.push_back(envelope);
    }
  }
  NotifyReady();
}

void Subscription::End(absl::Status why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ended_.ok()) return;
    ended_ = std::move(why);
  }
  NotifyReady();
}

void Subscription::SetReadyCallback(std::function<void()> ready) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_callback_ = std::move(ready);
}

void Subscription::NotifyReady() {
  std::function<void()> callback;
  {
    std::lock_guard<std::mutex> lock(mu_);
    callback = ready_callback_;
  }
  ready_.notify_all();
  if (callback) callback();
}

EventExchange::~EventExchange() { Close(); }

absl::Status EventExchange::Publish(absl::string_view ns, absl::string_view topic,
                                    const google::protobuf::Message& event) {
  google::protobuf::Any packed;
  packed.PackFrom(event);
  return PublishPacked(ns, topic, packed);
}

absl::Status EventExchange::PublishPacked(absl::string_view ns, absl::string_view topic,
                                          const google::protobuf::Any& event) {
  v1::Envelope envelope;
  *envelope.mutable_timestamp() = Now();
  envelope.set_namespace_(std::string(ns));
  envelope.set_topic(std::string(topic));
  *envelope.mutable_event() = event;
  return Forward(envelope);
}

absl::Status EventExchange::Forward(const v1::Envelope& envelope) {
  GANTRY_RETURN_IF_ERROR(ValidateNamespace(envelope.namespace_()));
  GANTRY_RETURN_IF_ERROR(ValidateTopic(envelope.topic()));
  std::lock_guard<std::mutex> lock(mu_);
  for (Subscription* subscription : subscriptions_) subscription->Deliver(envelope);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Subscription>> EventExchange::Subscribe(
    const std::vector<std::string>& filters) {
  GANTRY_ASSIGN_OR_RETURN(Filter filter, Filter::ParseAny(filters));
  std::unique_ptr<Subscription> subscription(new Subscription(*this, std::move(filter)));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_) {
      subscriptions_.push_back(subscription.get());
      return subscription;
    }
  }
  // Released before the subscription's destructor takes the lock again.
  return absl::UnavailableError("contd is shutting down");
}

void EventExchange::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (Subscription* subscription : subscriptions_) {
    subscription->End(absl::UnavailableError("contd is shutting down"));
  }
}

void EventExchange::Unsubscribe(Subscription* subscription) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(subscriptions_, subscription);
}

}  // namespace gantry::contd
