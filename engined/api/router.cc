#include "engined/api/router.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "engined/api/http_error.h"

namespace gantry::engined {
namespace {

std::vector<std::string> Segments(absl::string_view path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

bool IsParameter(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// A "{name*}" segment takes one or more segments (image names have
// slashes: /images/127.0.0.1:5000/a/b/json), as moby's {name:.*}.
bool IsGreedy(const std::string& segment) {
  return IsParameter(segment) && segment[segment.size() - 2] == '*';
}

// The route's parameters when `segments` match `route`.
std::optional<std::map<std::string, std::string>> Match(const std::vector<std::string>& route,
                                                        const std::vector<std::string>& segments) {
  const auto greedy = std::find_if(route.begin(), route.end(), IsGreedy);
  const size_t extra = segments.size() >= route.size() ? segments.size() - route.size() : 0;
  if (greedy == route.end() ? segments.size() != route.size() : segments.size() < route.size()) {
    return std::nullopt;
  }
  std::map<std::string, std::string> params;
  size_t at = 0;
  for (const std::string& pattern : route) {
    if (IsGreedy(pattern)) {
      std::vector<std::string> taken(segments.begin() + at, segments.begin() + at + extra + 1);
      params[pattern.substr(1, pattern.size() - 3)] = absl::StrJoin(taken, "/");
      at += extra + 1;
    } else if (IsParameter(pattern)) {
      params[pattern.substr(1, pattern.size() - 2)] = segments[at++];
    } else if (pattern != segments[at++]) {
      return std::nullopt;
    }
  }
  return params;
}

}  // namespace

VersionedPath SplitVersionPrefix(absl::string_view path) {
  VersionedPath out;
  if (absl::StartsWith(path, "/v") && path.size() > 2 && absl::ascii_isdigit(path[2])) {
    size_t end = path.find('/', 2);
    absl::string_view version =
        path.substr(2, end == absl::string_view::npos ? path.npos : end - 2);
    if (version.find_first_not_of("0123456789.") == absl::string_view::npos) {
      out.version = std::string(version);
      out.path = end == absl::string_view::npos ? "/" : std::string(path.substr(end));
      return out;
    }
  }
  out.path = std::string(path);
  return out;
}

Router::Router(std::vector<std::pair<std::string, std::string>> common_headers)
    : common_headers_(std::move(common_headers)) {}

void Router::Add(std::string method, absl::string_view pattern, Handler handler) {
  routes_.push_back(Route{std::move(method), Segments(pattern), std::move(handler)});
}

HttpResponse Router::Handle(RawRequest raw) const {
  absl::StatusOr<HttpResponse> response;
  try {
    response = Dispatch(std::move(raw));
  } catch (const std::exception& e) {
    // A handler bug (a JSON type error ...) answers 500 rather than ending engined.
    response = absl::InternalError(e.what());
  }
  HttpResponse out = response.ok() ? *std::move(response) : ErrorResponse(response.status());
  for (const auto& [name, value] : common_headers_) {
    bool present = false;
    for (const auto& header : out.headers) present |= absl::EqualsIgnoreCase(header.first, name);
    if (!present) out.headers.emplace_back(name, value);
  }
  return out;
}

absl::StatusOr<HttpResponse> Router::Dispatch(RawRequest raw) const {
  HttpRequest request;
  request.method = std::move(raw.method);
  request.headers = std::move(raw.headers);
  request.body = std::move(raw.body);

  absl::string_view target = raw.target;
  size_t question = target.find('?');
  absl::string_view raw_path = target.substr(0, question);
  if (question != absl::string_view::npos) {
    GANTRY_ASSIGN_OR_RETURN(request.query, QueryParams::Parse(target.substr(question + 1)));
  }
  GANTRY_ASSIGN_OR_RETURN(std::string path, UrlDecode(raw_path, /*plus_is_space=*/false));
  VersionedPath versioned = SplitVersionPrefix(path);
  request.path = std::move(versioned.path);
  if (versioned.version.has_value()) {
    GANTRY_ASSIGN_OR_RETURN(request.version, ParseApiVersion(*versioned.version));
    GANTRY_RETURN_IF_ERROR(CheckApiVersion(request.version));
  }

  std::vector<std::string> segments = Segments(request.path);
  for (const Route& route : routes_) {
    if (route.method != request.method) continue;
    std::optional<std::map<std::string, std::string>> params = Match(route.segments, segments);
    if (!params.has_value()) continue;
    request.params = *std::move(params);
    return route.handler(request);
  }
  // moby answers unknown paths and unknown methods alike.
  return absl::NotFoundError("page not found");
}

}  // namespace gantry::engined
