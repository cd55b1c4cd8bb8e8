#include "contd/registry/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <map>
#include <mutex>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::registry {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

constexpr size_t kUploadBuffer = 1 << 16;

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// A connection to one scheme://host:port, plain or TLS, with the parser of
// the response it is reading. Used by one request at a time.
class Connection {
 public:
  Connection(const HttpOptions& options, Url url) : options_(options), url_(std::move(url)) {}

  absl::Status Connect(const TlsOptions* tls);
  absl::Status WriteRequest(const HttpRequest& request);
  absl::Status ReadHeader(bool head);
  absl::StatusOr<size_t> Read(char* buf, size_t n);

  const http::response_parser<http::buffer_body>::value_type& message() const {
    return parser_->get();
  }
  const Url& url() const { return url_; }
  // The connection serves the next request to the same origin.
  void Reuse(Url url) { url_ = std::move(url); }
  // The response was read to its end, the server keeps the connection open
  // and sent nothing more: the connection can serve another request.
  bool Reusable() const {
    return parser_ && parser_->is_done() && parser_->get().keep_alive() && buffer_.size() == 0;
  }
  // Nothing to read on an idle connection: no EOF, no stray bytes.
  bool LooksOpen();

  std::chrono::steady_clock::time_point idle_since;

 private:
  beast::tcp_stream& Lowest() { return plain_ ? *plain_ : beast::get_lowest_layer(*tls_); }

  // Runs one asynchronous operation to completion on this connection's own
  // io_context: the synchronous API with the timeouts tcp_stream gives async
  // operations only.
  template <class Start>
  absl::Status Run(std::chrono::milliseconds timeout, absl::string_view what, Start start) {
    beast::error_code result = net::error::would_block;
    Lowest().expires_after(timeout);
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    if (!result || result == http::error::need_buffer) return absl::OkStatus();
    if (result == beast::error::timeout)
      return absl::DeadlineExceededError(
          absl::StrCat(what, " ", url_.HostPort(), ": timed out after ", timeout.count(), " ms"));
    return absl::UnavailableError(absl::StrCat(what, " ", url_.HostPort(), ": ", result.message()));
  }

  // Calls f with the plain or the TLS stream.
  template <class F>
  auto WithStream(F&& f) {
    return plain_ ? f(*plain_) : f(*tls_);
  }

  const HttpOptions options_;  // a copy: a response may outlive its client
  Url url_;
  net::io_context ioc_;
  std::optional<ssl::context> ssl_ctx_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
};

// The key of a connection's pool slot.
std::string Origin(const Url& url) { return absl::StrCat(url.scheme, "://", url.HostPort()); }

bool Idempotent(const HttpRequest& request) {
  return request.method == "GET" || request.method == "HEAD";
}

}  // namespace

// Idle keep-alive connections by origin, most recently used last.
class ConnectionPool {
 public:
  explicit ConnectionPool(const HttpOptions& options)
      : max_idle_(options.max_idle_per_host), idle_timeout_(options.idle_timeout) {}

  // An idle connection to the URL's origin that still looks open, or null.
  std::unique_ptr<Connection> Take(const Url& url) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    auto it = idle_.find(Origin(url));
    if (it == idle_.end()) return nullptr;
    auto& conns = it->second;
    while (!conns.empty()) {
      std::unique_ptr<Connection> conn = std::move(conns.back());
      conns.pop_back();
      if (now - conn->idle_since < idle_timeout_ && conn->LooksOpen()) {
        conn->Reuse(url);
        return conn;
      }
    }
    return nullptr;
  }

  void Put(std::unique_ptr<Connection> conn) {
    if (max_idle_ == 0) return;
    conn->idle_since = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    auto& conns = idle_[Origin(conn->url())];
    if (conns.size() >= max_idle_) conns.erase(conns.begin());  // the longest idle
    conns.push_back(std::move(conn));
  }

 private:
  const size_t max_idle_;
  const std::chrono::milliseconds idle_timeout_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

namespace {

// A response read from its connection; when destroyed, the connection goes
// back to the pool if the response was read to its end.
class PooledResponse : public HttpResponse {
 public:
  PooledResponse(std::unique_ptr<Connection> conn, std::weak_ptr<ConnectionPool> pool)
      : conn_(std::move(conn)), pool_(std::move(pool)) {}
  ~PooledResponse() override {
    if (!conn_->Reusable()) return;
    if (std::shared_ptr<ConnectionPool> pool = pool_.lock()) pool->Put(std::move(conn_));
  }

  int status() const override { return static_cast<int>(conn_->message().result_int()); }
  std::string Header(absl::string_view name) const override {
    const auto& message = conn_->message();
    auto it = message.find(beast::string_view(name.data(), name.size()));
    if (it == message.end()) return "";
    return std::string(it->value().data(), it->value().size());
  }
  std::optional<int64_t> content_length() const override {
    int64_t n;
    std::string v = Header("Content-Length");
    if (v.empty() || !absl::SimpleAtoi(v, &n) || n < 0) return std::nullopt;
    return n;
  }
  const Url& url() const override { return conn_->url(); }
  absl::StatusOr<size_t> Read(char* buf, size_t n) override { return conn_->Read(buf, n); }

 private:
  std::unique_ptr<Connection> conn_;
  std::weak_ptr<ConnectionPool> pool_;
};

absl::StatusOr<ssl::context> MakeSslContext(const TlsOptions& tls) {
  ssl::context ctx(ssl::context::tls_client);
  beast::error_code ec;
  if (tls.verify) {
    ctx.set_verify_mode(ssl::verify_peer);
    if (tls.system_cas && ctx.set_default_verify_paths(ec))
      return absl::InternalError(absl::StrCat("load system CA certificates: ", ec.message()));
    for (const std::string& ca : tls.ca_files)
      if (ctx.load_verify_file(ca, ec))
        return absl::InvalidArgumentError(
            absl::StrCat("load CA certificate ", ca, ": ", ec.message()));
  } else {
    ctx.set_verify_mode(ssl::verify_none);
  }
  if (!tls.client_cert_file.empty()) {
    if (ctx.use_certificate_chain_file(tls.client_cert_file, ec))
      return absl::InvalidArgumentError(
          absl::StrCat("load client certificate ", tls.client_cert_file, ": ", ec.message()));
    if (ctx.use_private_key_file(tls.client_key_file, ssl::context::pem, ec))
      return absl::InvalidArgumentError(
          absl::StrCat("load client key ", tls.client_key_file, ": ", ec.message()));
  }
  return ctx;
}

absl::Status Connection::Connect(const TlsOptions* tls) {
  tcp::resolver resolver(ioc_);
  beast::error_code ec;
  auto endpoints = resolver.resolve(url_.host, url_.port, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("resolve ", url_.host, ": ", ec.message()));

  if (tls == nullptr) {
    plain_.emplace(ioc_);
  } else {
    GANTRY_ASSIGN_OR_RETURN(ssl::context ctx, MakeSslContext(*tls));
    ssl_ctx_.emplace(std::move(ctx));
    tls_.emplace(ioc_, *ssl_ctx_);
    SSL* ssl = tls_->native_handle();
    beast::error_code addr_ec;
    net::ip::make_address(url_.host, addr_ec);
    bool is_ip = !addr_ec;
    // The certificate must name the host we asked for (SAN DNS or IP).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, url_.host.c_str(), 0);
      SSL_set_tlsext_host_name(ssl, url_.host.c_str());
    }
  }
  GANTRY_RETURN_IF_ERROR(Run(options_.connect_timeout, "connect to", [&](auto handler) {
    Lowest().async_connect(endpoints, std::move(handler));
  }));
  if (tls_) {
    GANTRY_RETURN_IF_ERROR(Run(options_.connect_timeout, "TLS handshake with", [&](auto handler) {
      tls_->async_handshake(ssl::stream_base::client, std::move(handler));
    }));
  }
  return absl::OkStatus();
}

absl::Status Connection::WriteRequest(const HttpRequest& request) {
  http::request<http::empty_body> req;
  req.method_string(request.method);
  req.target(request.url.target);
  req.version(11);
  bool default_port = request.url.port == (request.url.scheme == "https" ? "443" : "80");
  req.set(http::field::host, default_port ? request.url.host : request.url.HostPort());
  req.set(http::field::user_agent, options_.user_agent);
  for (const auto& [name, value] : request.headers) req.set(name, value);

  int64_t length = static_cast<int64_t>(request.body.size());
  if (request.body_source != nullptr) {
    length = request.body_length >= 0 ? request.body_length
                                      : request.body_source->size() - request.body_offset;
  }
  if (length > 0 || request.method == "PUT" || request.method == "POST" ||
      request.method == "PATCH")
    req.content_length(static_cast<uint64_t>(length));

  std::string what = absl::StrCat("send ", request.method, " ", request.url.target, " to");
  http::request_serializer<http::empty_body> serializer(req);
  GANTRY_RETURN_IF_ERROR(Run(options_.io_timeout, what, [&](auto handler) {
    WithStream([&](auto& s) { http::async_write_header(s, serializer, std::move(handler)); });
  }));
  if (request.body_source == nullptr) {
    if (request.body.empty()) return absl::OkStatus();
    return Run(options_.io_timeout, what, [&](auto handler) {
      WithStream(
          [&](auto& s) { net::async_write(s, net::buffer(request.body), std::move(handler)); });
    });
  }
  std::vector<char> buf(kUploadBuffer);
  for (int64_t sent = 0; sent < length;) {
    size_t want = static_cast<size_t>(std::min<int64_t>(buf.size(), length - sent));
    GANTRY_ASSIGN_OR_RETURN(
        size_t n, request.body_source->ReadAt(request.body_offset + sent, buf.data(), want));
    if (n == 0)
      return absl::DataLossError(absl::StrCat("upload to ", request.url.str(),
                                              ": source ended after ", sent, " of ", length,
                                              " bytes"));
    GANTRY_RETURN_IF_ERROR(Run(options_.io_timeout, what, [&](auto handler) {
      WithStream(
          [&](auto& s) { net::async_write(s, net::buffer(buf.data(), n), std::move(handler)); });
    }));
    sent += static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status Connection::ReadHeader(bool head) {
  parser_.emplace();
  // Layers are streamed, any size. Not boost::none: Beast 1.74 compares the
  // Content-Length with an empty optional and fails every body.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  if (head) parser_->skip(true);
  return Run(options_.io_timeout, "read response from", [&](auto handler) {
    WithStream([&](auto& s) { http::async_read_header(s, buffer_, *parser_, std::move(handler)); });
  });
}

bool Connection::LooksOpen() {
  if (tls_ && SSL_pending(tls_->native_handle()) > 0) return false;
  pollfd pfd{Lowest().socket().native_handle(), POLLIN, 0};
  return ::poll(&pfd, 1, 0) == 0;
}

absl::StatusOr<size_t> Connection::Read(char* buf, size_t n) {
  if (n == 0) return 0;
  // A read may consume framing only (chunk headers) and yield no bytes.
  while (!parser_->is_done()) {
    auto& body = parser_->get().body();
    body.data = buf;
    body.size = n;
    GANTRY_RETURN_IF_ERROR(Run(options_.io_timeout, "read body from", [&](auto handler) {
      WithStream([&](auto& s) { http::async_read(s, buffer_, *parser_, std::move(handler)); });
    }));
    size_t got = n - parser_->get().body().size;
    if (got > 0) return got;
  }
  return 0;
}

}  // namespace

void HttpRequest::SetHeader(std::string name, std::string value) {
  for (auto& [n, v] : headers) {
    if (absl::EqualsIgnoreCase(n, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

absl::StatusOr<std::string> HttpResponse::ReadAll(size_t limit) {
  std::string out;
  char buf[16384];
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(size_t n, Read(buf, sizeof buf));
    if (n == 0) return out;
    if (out.size() + n > limit)
      return absl::ResourceExhaustedError(
          absl::StrCat("response from ", url().str(), ": body larger than ", limit, " bytes"));
    out.append(buf, n);
  }
}

void HttpResponse::Discard() {
  constexpr int64_t kMaxDiscard = 64 << 10;
  std::optional<int64_t> length = content_length();
  if (length && *length <= kMaxDiscard) (void)ReadAll(kMaxDiscard);
}

HttpClient::HttpClient(HttpOptions options, TlsPolicy tls_policy)
    : options_(std::move(options)),
      tls_policy_(std::move(tls_policy)),
      pool_(std::make_shared<ConnectionPool>(options_)) {}

HttpClient::~HttpClient() = default;

absl::StatusOr<std::unique_ptr<HttpResponse>> HttpClient::SendOnce(
    const HttpRequest& request) const {
  auto exchange = [&](Connection& conn) {
    absl::Status status = conn.WriteRequest(request);
    if (status.ok()) status = conn.ReadHeader(request.method == "HEAD");
    return status;
  };
  // A kept-alive connection may have been closed by the server just as we
  // sent: the request is sent again, once, on a fresh connection. Only GET
  // and HEAD take idle connections, as only they are safe to send twice.
  if (std::unique_ptr<Connection> idle = Idempotent(request) ? pool_->Take(request.url) : nullptr) {
    absl::Status status = exchange(*idle);
    if (status.ok()) return std::make_unique<PooledResponse>(std::move(idle), pool_);
    if (absl::IsDeadlineExceeded(status)) return status;
  }
  auto conn = std::make_unique<Connection>(options_, request.url);
  std::optional<TlsOptions> tls;
  if (request.url.scheme == "https") tls = tls_policy_ ? tls_policy_(request.url) : TlsOptions{};
  GANTRY_RETURN_IF_ERROR(conn->Connect(tls ? &*tls : nullptr));
  GANTRY_RETURN_IF_ERROR(exchange(*conn));
  return std::make_unique<PooledResponse>(std::move(conn), pool_);
}

absl::StatusOr<std::unique_ptr<HttpResponse>> HttpClient::Send(const HttpRequest& request) const {
  HttpRequest current = request;
  for (int redirects = 0;; ++redirects) {
    GANTRY_ASSIGN_OR_RETURN(auto response, SendOnce(current));
    if (!request.follow_redirects || !IsRedirect(response->status())) return response;
    std::string location = response->Header("Location");
    response->Discard();
    if (location.empty())
      return absl::UnavailableError(absl::StrCat(current.method, " ", current.url.str(), ": ",
                                                 response->status(), " without Location"));
    if (redirects >= options_.max_redirects)
      return absl::UnavailableError(absl::StrCat(request.method, " ", request.url.str(),
                                                 ": more than ", options_.max_redirects,
                                                 " redirects"));
    GANTRY_ASSIGN_OR_RETURN(Url next, current.url.Resolve(location));
    // Credentials for the registry must not leak to the blob storage it
    // redirects to (S3 and CDNs sign their URLs instead).
    if (next.HostPort() != current.url.HostPort() || next.scheme != current.url.scheme) {
      std::erase_if(current.headers,
                    [](const auto& h) { return absl::EqualsIgnoreCase(h.first, "Authorization"); });
    }
    current.url = std::move(next);
  }
}

}  // namespace gantry::registry
