// gantry events (and system events): engined's /events, replayed from
// --since and followed until --until (or ^C), one line per event as docker
// prints it, or through --format.
#include <iostream>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/commands/command_context.h"
#include "cli/format/template.h"
#include "cli/format/timestamps.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

struct EventsFlags {
  std::string since;
  std::string until;
  std::vector<std::string> filters;
  std::string format;
};

// The event as docker's templates see it: Go's field names (Status, ID,
// From, Scope, Time, TimeNano) beside the JSON ones.
json TemplateView(json event) {
  static constexpr std::pair<const char*, const char*> kGoNames[] = {
      {"status", "Status"}, {"id", "ID"},     {"from", "From"},
      {"scope", "Scope"},   {"time", "Time"}, {"timeNano", "TimeNano"}};
  for (const auto& [tag, field] : kGoNames) {
    if (event.contains(tag)) event[field] = event[tag];
  }
  return event;
}

// {{json .}} as docker prints an events.Message: its fields in the Go
// struct's order, the empty ones that Go omits left out.
std::string EventJson(const json& event) {
  nlohmann::ordered_json out;
  for (const char* key : {"status", "id", "from"}) {
    if (!event.value(key, "").empty()) out[key] = event[key];
  }
  out["Type"] = event.value("Type", "");
  out["Action"] = event.value("Action", "");
  const json actor = event.value("Actor", json::object());
  out["Actor"]["ID"] = actor.value("ID", "");
  out["Actor"]["Attributes"] = actor.value("Attributes", json::object());
  out["scope"] = event.value("scope", "");
  for (const char* key : {"time", "timeNano"}) {
    if (event.value(key, int64_t{0}) != 0) out[key] = event[key];
  }
  return out.dump();
}

// docker's line: time, type, action, actor ID, (attributes sorted by key).
std::string EventLine(const json& event) {
  std::string line;
  const int64_t nanos = event.value("timeNano", int64_t{0});
  const int64_t seconds = event.value("time", int64_t{0});
  if (nanos != 0) {
    line = absl::StrCat(Rfc3339NanoFixed(nanos), " ");
  } else if (seconds != 0) {
    line = absl::StrCat(Rfc3339NanoFixed(seconds * 1'000'000'000), " ");
  }
  const json actor = event.value("Actor", json::object());
  absl::StrAppend(&line, event.value("Type", ""), " ", event.value("Action", ""), " ",
                  actor.value("ID", ""));
  // Attributes sorted by key (a std::map, as json objects are).
  std::map<std::string, std::string> attributes;
  const json attribute_map = actor.value("Attributes", json::object());
  for (const auto& [key, value] : attribute_map.items()) {
    attributes[key] = value.is_string() ? value.get<std::string>() : GoString(value);
  }
  if (!attributes.empty()) {
    absl::StrAppend(&line, " (", absl::StrJoin(attributes, ", ", absl::PairFormatter("=")), ")");
  }
  return line;
}

absl::StatusOr<int> Events(CommandContext& context, const EventsFlags& flags) {
  // {{json .}}: the event in docker's field order.
  const bool as_json = flags.format == "json" || flags.format == "{{json .}}";
  std::optional<Template> tmpl;
  if (!flags.format.empty() && !as_json) {
    GANTRY_ASSIGN_OR_RETURN(tmpl, Template::Parse(flags.format));
  }
  const absl::Time now = absl::Now();
  std::string query = "/events?";
  if (!flags.since.empty()) {
    GANTRY_ASSIGN_OR_RETURN(std::string since, ApiTimestamp(flags.since, now));
    absl::StrAppend(&query, "since=", QueryEscape(since));
  }
  if (!flags.until.empty()) {
    GANTRY_ASSIGN_OR_RETURN(std::string until, ApiTimestamp(flags.until, now));
    absl::StrAppend(&query, "&until=", QueryEscape(until));
  }
  GANTRY_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(flags.filters));
  absl::StrAppend(&query, filters);
  GANTRY_ASSIGN_OR_RETURN(std::unique_ptr<ResponseStream> stream,
                          context.client().Open("GET", query));
  GANTRY_RETURN_IF_ERROR(stream->ReadJsonLines([&](const json& event) -> absl::Status {
    if (as_json) {
      std::cout << EventJson(event) << std::endl;
    } else if (!tmpl.has_value()) {
      std::cout << EventLine(event) << std::endl;
    } else {
      GANTRY_ASSIGN_OR_RETURN(std::string text, tmpl->Render(TemplateView(event)));
      std::cout << text << std::endl;
    }
    return absl::OkStatus();
  }));
  return 0;
}

}  // namespace

void AddEventsCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<EventsFlags>();
  CLI::App* events = app.add_subcommand("events", "Get real time events from the server");
  events->add_option("--since", flags->since, "Show all events created since timestamp");
  events->add_option("--until", flags->until, "Stream events until this timestamp");
  AddRepeatable(*events, "-f,--filter", flags->filters,
                "Filter output based on conditions provided");
  events->add_option("--format", flags->format, "Format output using a custom template");
  context.OnRun(events, [&context, flags] { return Events(context, *flags); });
}

}  // namespace gantry::cli
