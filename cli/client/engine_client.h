// The client side of engined's Docker Engine API: HTTP/1.1 over a unix
// socket or plain TCP, the API version negotiated once via /_ping, and the
// three shapes of answer the API has: a whole body, a stream of chunks
// (pull progress, logs, wait), and a hijacked connection (attach).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/client/tls_tunnel.h"
#include "common/unique_fd.h"

namespace gantry::cli {

// The newest API version this client speaks; an older engined is spoken to
// in its own version.
inline constexpr const char* kClientApiVersion = "1.43";
inline constexpr const char* kDefaultHost = "unix:///run/gantry.sock";

struct HttpResult {
  int status = 0;
  std::string body;
};

// A connection taken over after "101 Switching Protocols": raw bytes both
// ways. `buffered` is what arrived with the response header.
struct HijackedConnection {
  UniqueFd fd;
  std::string buffered;
};

// A request whose answer is read as it comes (its header first).
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual int status() const = 0;
  // Calls `on_data` with each piece of the body until it ends; a false
  // return stops reading.
  absl::Status ReadBody(const std::function<bool(absl::string_view)>& on_data);
  // Up to `size` bytes of the body into `buffer`; 0 at its end.
  virtual absl::StatusOr<size_t> Read(char* buffer, size_t size) = 0;
  absl::StatusOr<std::string> ReadAll();
  // A body of JSON objects, one a line (progress, events, stats): calls
  // `on_message` with each as it arrives; its first error stops the reading
  // and is returned.
  absl::Status ReadJsonLines(const std::function<absl::Status(const nlohmann::json&)>& on_message);
  // A header of the answer ("" when absent).
  virtual std::string header(absl::string_view name) const = 0;
};

// A request body written in pieces as it is made (a tar of a directory, an
// image archive from stdin): sent with chunked transfer encoding.
using BodyWriter = std::function<absl::Status(absl::string_view)>;
using BodyProducer = std::function<absl::Status(const BodyWriter& write)>;

// A body read from `fd` to its end (`what` names it in errors: "stdin").
BodyProducer BodyFromFd(int fd, std::string what);

// What a request may carry besides its method and path.
struct RequestExtras {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;         // of the body
  std::optional<std::string> body;  // a body known whole (JSON)
  BodyProducer streamed_body;       // or one made while it is sent
};

class EngineClient {
 public:
  // `host` as the user gave it: unix:///path, tcp://host:port,
  // ssh://[user@]host[:port][/socket] (through `gantry system dial-stdio`
  // run there by ssh), or a bare /path; `tls` for tcp:// with TLS. Nothing is connected until the
  // first request.
  explicit EngineClient(std::string host, std::optional<TlsOptions> tls = std::nullopt);

  const std::string& host() const { return host_; }
  // The negotiated API version ("1.43"); pings engined the first time.
  absl::StatusOr<std::string> ApiVersion();

  // A whole request: non-2xx answers become errors carrying engined's
  // message ("Error response from daemon: No such container: x").
  absl::StatusOr<HttpResult> Call(const std::string& method, const std::string& path,
                                  const std::optional<nlohmann::json>& body = std::nullopt);
  absl::StatusOr<nlohmann::json> CallJson(const std::string& method, const std::string& path,
                                          const std::optional<nlohmann::json>& body = std::nullopt);
  // Sends the request and reads the answer's header; a non-2xx answer is an
  // error as for Call.
  absl::StatusOr<std::unique_ptr<ResponseStream>> Open(
      const std::string& method, const std::string& path,
      const std::optional<nlohmann::json>& body = std::nullopt);
  absl::StatusOr<std::unique_ptr<ResponseStream>> Open(const std::string& method,
                                                       const std::string& path,
                                                       const RequestExtras& extras);
  // A new connection to engined, for bytes of the caller's own (dial-stdio).
  absl::StatusOr<UniqueFd> Dial();
  // Asks for an upgrade to a raw stream (attach, exec start).
  absl::StatusOr<HijackedConnection> Hijack(
      const std::string& method, const std::string& path,
      const std::optional<nlohmann::json>& body = std::nullopt);

 private:
  absl::StatusOr<std::unique_ptr<ResponseStream>> Send(const std::string& method,
                                                       const std::string& target,
                                                       const RequestExtras& extras, bool upgrade,
                                                       HijackedConnection* hijacked);
  absl::Status Unreachable(absl::string_view why) const;

  std::string host_;
  std::optional<TlsOptions> tls_;
  std::optional<std::string> api_version_;
};

// "a=b&c=d" with values escaped for a query string.
std::string QueryEscape(absl::string_view value);

}  // namespace gantry::cli
