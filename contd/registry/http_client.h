// A synchronous HTTP/1.1 client over Boost.Beast, plain or TLS (OpenSSL),
// with bodies streamed both ways so a layer is never held in memory.
// Connections are kept alive and reused: a response whose body was read to
// its end hands its connection back to a small per-host pool when it is
// destroyed. A reused connection the server has closed meanwhile is replaced
// by a fresh one, once, for GET and HEAD.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/registry/blob_io.h"
#include "contd/registry/url.h"

namespace gantry::registry {

struct TlsOptions {
  bool verify = true;                 // false for insecure registries
  bool system_cas = true;             // the distribution's CA bundle
  std::vector<std::string> ca_files;  // extra trusted CAs (certs.d/HOST/*.crt)
  std::string client_cert_file;       // PEM chain (certs.d/HOST/*.cert)
  std::string client_key_file;        // PEM key (certs.d/HOST/*.key)
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{30'000};
  // Longest wait for any single read or write: a stalled peer fails the
  // request, a slow but moving download does not.
  std::chrono::milliseconds io_timeout{60'000};
  int max_redirects = 10;
  // Idle keep-alive connections kept per scheme://host:port, and for how
  // long; 0 idle connections: one connection per request.
  size_t max_idle_per_host = 8;
  std::chrono::milliseconds idle_timeout{30'000};
  std::string user_agent = "gantry/0.1";
};

struct HttpRequest {
  std::string method = "GET";
  Url url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                   // small bodies
  BlobSource* body_source = nullptr;  // streamed body, replaces `body`
  int64_t body_offset = 0;            // with body_source: the bytes sent are
  int64_t body_length = -1;           // [offset, offset+length), -1 = to the end
  // GET and HEAD only; Authorization is dropped when the host changes.
  bool follow_redirects = false;

  void SetHeader(std::string name, std::string value);
};

class HttpResponse {
 public:
  virtual ~HttpResponse() = default;
  virtual int status() const = 0;
  // The header's value, "" when absent (case-insensitive name).
  virtual std::string Header(absl::string_view name) const = 0;
  // Content-Length, when the response has one.
  virtual std::optional<int64_t> content_length() const = 0;
  // The URL that answered (after redirects).
  virtual const Url& url() const = 0;
  // Reads the next bytes of the body into `buf`; 0 at its end.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
  // The whole body; fails when it is longer than `limit`.
  absl::StatusOr<std::string> ReadAll(size_t limit);
  // Reads and drops the rest of a small body (a redirect's, a 401's), so
  // that its connection can serve the next request.
  void Discard();
};

class ConnectionPool;

// Thread-safe: concurrent requests use their own connections.
class HttpClient {
 public:
  using TlsPolicy = std::function<TlsOptions(const Url&)>;
  HttpClient(HttpOptions options, TlsPolicy tls_policy);
  ~HttpClient();

  // Sends the request and reads the response's header; the body is read from
  // the response. Errors are transport errors (connect, TLS, timeouts); any
  // HTTP status is a response.
  absl::StatusOr<std::unique_ptr<HttpResponse>> Send(const HttpRequest& request) const;

  const HttpOptions& options() const { return options_; }

 private:
  absl::StatusOr<std::unique_ptr<HttpResponse>> SendOnce(const HttpRequest& request) const;
  HttpOptions options_;
  TlsPolicy tls_policy_;
  // Shared with the responses, which may outlive the client.
  std::shared_ptr<ConnectionPool> pool_;
};

}  // namespace gantry::registry
