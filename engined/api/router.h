// Maps method + path to a handler, as moby's routers: patterns with {name}
// segments (/containers/{id}/json), an optional /vN.NN prefix that selects
// the API version, and one place where errors become HTTP responses.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engined/api/http_types.h"

namespace gantry::engined {

using Handler = std::function<absl::StatusOr<HttpResponse>(const HttpRequest&)>;

// What the server parsed off the wire, before routing.
struct RawRequest {
  std::string method;
  std::string target;                          // "/v1.41/containers/json?all=1"
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
};

class Router {
 public:
  // Headers every response carries (Server, API-Version ...).
  explicit Router(std::vector<std::pair<std::string, std::string>> common_headers = {});

  // Registers `handler` for `method` on `pattern`; a {name} segment matches
  // any one non-empty segment and is passed as request.params[name]; a
  // {name*} segment (one per pattern) matches one or more segments.
  void Add(std::string method, absl::string_view pattern, Handler handler);

  // Routes and runs a request; never fails: errors become Docker's
  // {"message"} responses, unknown paths 404 "page not found".
  HttpResponse Handle(RawRequest raw) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{id}" for parameters
    Handler handler;
  };
  std::vector<Route> routes_;
  std::vector<std::pair<std::string, std::string>> common_headers_;

  absl::StatusOr<HttpResponse> Dispatch(RawRequest raw) const;
};

// Splits "/v1.41/x/y" into the version and "/x/y"; a path without the prefix
// keeps its whole self and no version.
struct VersionedPath {
  std::optional<std::string> version;
  std::string path;
};
VersionedPath SplitVersionPrefix(absl::string_view path);

}  // namespace gantry::engined
