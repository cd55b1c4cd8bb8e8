#include "engined/api/events_router.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::engined {
namespace {

// "1700000000", "1700000000.5" (what the CLI sends for --since/--until).
absl::StatusOr<std::optional<absl::Time>> TimeParam(const HttpRequest& request,
                                                    const std::string& name) {
  std::optional<std::string> value = request.query.Get(name);
  if (!value || value->empty()) return std::optional<absl::Time>();
  double seconds = 0;
  if (!absl::SimpleAtod(*value, &seconds)) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": invalid timestamp \"", *value, "\""));
  }
  return std::optional<absl::Time>(absl::FromUnixNanos(static_cast<int64_t>(seconds * 1e9)));
}

bool Matches(const nlohmann::json& event, const Filters& filters) {
  const nlohmann::json& attributes = event["Actor"]["Attributes"];
  for (const auto& [name, values] : filters) {
    bool any = false;
    for (const std::string& value : values) {
      if (name == "type") {
        any |= event["Type"] == value;
      } else if (name == "event") {
        any |= event["Action"] == value;
      } else if (name == "container") {
        any |= event["Type"] == "container" &&
               (absl::StartsWith(event["Actor"]["ID"].get<std::string>(), value) ||
                attributes.value("name", "") == value);
      } else if (name == "image") {
        any |= attributes.value("image", "") == value;
      } else if (name == "label") {
        const size_t eq = value.find('=');
        const std::string key = value.substr(0, eq);
        any |= attributes.contains(key) &&
               (eq == std::string::npos || attributes[key] == value.substr(eq + 1));
      } else {
        any = true;
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace

void EventsRouter::AddRoutes(Router& router) {
  router.Add("GET", "/events", [this](const HttpRequest& r) { return Events(r); });
}

absl::StatusOr<HttpResponse> EventsRouter::Events(const HttpRequest& request) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<absl::Time> since, TimeParam(request, "since"));
  GANTRY_ASSIGN_OR_RETURN(std::optional<absl::Time> until, TimeParam(request, "until"));
  GANTRY_ASSIGN_OR_RETURN(Filters filters, request.query.GetFilters());
  HttpResponse response;
  response.SetHeader("Content-Type", "application/json");
  response.stream = [this, since, until, filters](std::unique_ptr<ResponseStream> stream) {
    // Without --since, only what happens from now on.
    events_.Follow(since.value_or(absl::Now()), until, [&](const nlohmann::json& event) {
      return !Matches(event, filters) || stream->WriteJson(event).ok();
    });
  };
  return response;
}

}  // namespace gantry::engined
