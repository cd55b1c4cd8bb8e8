// HTTP requests and responses as routers see them: plain values, no sockets,
// so routers are tested without a server. A response is a whole body, a
// chunked stream (events, pull progress) or a hijacked connection (attach,
// exec) that the server hands over once the header is out.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engined/api/api_version.h"
#include "engined/api/query.h"

namespace gantry::engined {

// A client connection taken over from HTTP. Blocking calls; one reader and
// one writer thread may use it at the same time.
class Connection {
 public:
  virtual ~Connection() = default;
  // Reads up to `size` bytes; 0 at end of stream.
  virtual absl::StatusOr<size_t> Read(char* data, size_t size) = 0;
  virtual absl::Status Write(absl::string_view data) = 0;
  // Half-closes: the client sees end of stream, and may still send.
  virtual absl::Status CloseWrite() = 0;
};

// The body of a chunked response; the last chunk goes out when it is
// destroyed, and the connection closes.
class ResponseStream {
 public:
  explicit ResponseStream(std::unique_ptr<Connection> connection)
      : connection_(std::move(connection)) {}
  ResponseStream(const ResponseStream&) = delete;
  ResponseStream& operator=(const ResponseStream&) = delete;
  ~ResponseStream();

  // Sends `data` as one chunk (empty data sends nothing: an empty chunk
  // would end the body). Fails once the client has gone.
  absl::Status Write(absl::string_view data);
  // One JSON document and a newline, as Docker's progress and event streams.
  absl::Status WriteJson(const nlohmann::json& value);

 private:
  std::unique_ptr<Connection> connection_;
};

struct HttpRequest {
  std::string method;                   // "GET", "HEAD", ...
  std::string path;                     // decoded, without the /vN.NN prefix or the query
  ApiVersion version = kMaxApiVersion;  // the prefix's, else the newest
  QueryParams query;
  std::map<std::string, std::string> params;  // {name} segments of the route
  // Header names lower-cased.
  std::map<std::string, std::string> headers;
  std::string body;

  // A header's value, by case-insensitive name.
  std::optional<std::string> Header(absl::string_view name) const;
  // Path parameter declared by the route; "" when absent.
  const std::string& Param(const std::string& name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the header goes out with Transfer-Encoding: chunked and the
  // function then owns the body; it runs on a thread of its own.
  std::function<void(std::unique_ptr<ResponseStream>)> stream;
  // When set, the header goes out (101 for an Upgrade request) and the
  // function owns the raw connection; it runs on a thread of its own.
  std::function<void(std::unique_ptr<Connection>)> hijack;

  // `value` serialised with a trailing newline, as Go's json.Encoder.
  static HttpResponse Json(unsigned status, const nlohmann::json& value);
  static HttpResponse Text(unsigned status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
  void SetHeader(std::string name, std::string value);
};

// Parses a JSON request body; a malformed one is InvalidArgument (400), and
// an empty one is an empty object.
absl::StatusOr<nlohmann::json> DecodeJsonBody(const HttpRequest& request);

}  // namespace gantry::engined
