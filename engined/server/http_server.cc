#include "engined/server/http_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/socket_file.h"

namespace gantry::engined {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;
using TlsStream = asio::ssl::stream<tcp::socket>;

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

// Connections handed to stream and hijack handlers: counted so Stop() can
// end them and wait for their threads.
class HandedOver {
 public:
  // Runs `fn` on a thread of its own; `shutdown` ends the connection's I/O.
  void Run(std::function<void()> fn, int fd) {
    uint64_t id;
    {
      std::lock_guard lock(mu_);
      id = next_id_++;
      fds_[id] = fd;
    }
    std::thread([this, fn = std::move(fn), id] {
      fn();
      std::lock_guard lock(mu_);
      fds_.erase(id);
      done_.notify_all();
    }).detach();
  }

  // Shuts every connection down (blocked reads return) and waits for the
  // handlers to return.
  void EndAll() {
    std::unique_lock lock(mu_);
    for (const auto& [id, fd] : fds_) ::shutdown(fd, SHUT_RDWR);
    done_.wait_for(lock, std::chrono::seconds(10), [this] { return fds_.empty(); });
  }

 private:
  std::mutex mu_;
  std::condition_variable done_;
  uint64_t next_id_ = 0;
  std::map<uint64_t, int> fds_;
};

// State every session shares.
struct Shared {
  RequestHandler handler;
  size_t body_limit;
  HandedOver handed_over;
};

template <class Stream>
int NativeFd(Stream& stream) {
  return beast::get_lowest_layer(stream).native_handle();
}

template <class Stream>
class StreamConnection : public Connection {
 public:
  StreamConnection(Stream stream, std::string buffered)
      : stream_(std::move(stream)), buffered_(std::move(buffered)) {}
  ~StreamConnection() override {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).shutdown(asio::socket_base::shutdown_both, ec);
  }

  absl::StatusOr<size_t> Read(char* data, size_t size) override {
    // Bytes the client sent right after its request (attach stdin) come first.
    if (!buffered_.empty()) {
      size_t n = std::min(size, buffered_.size());
      std::memcpy(data, buffered_.data(), n);
      buffered_.erase(0, n);
      return n;
    }
    beast::error_code ec;
    size_t n = stream_.read_some(asio::buffer(data, size), ec);
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return 0;
    if (ec) return absl::UnavailableError(absl::StrCat("read from client: ", ec.message()));
    return n;
  }

  absl::Status Write(absl::string_view data) override {
    beast::error_code ec;
    asio::write(stream_, asio::buffer(data.data(), data.size()), ec);
    if (ec) return absl::UnavailableError(absl::StrCat("write to client: ", ec.message()));
    return absl::OkStatus();
  }

  absl::Status CloseWrite() override {
    if constexpr (kIsTls<Stream>) {
      // TLS has no half-close that keeps reading possible.
      return absl::UnimplementedError("half-close of a TLS connection");
    } else {
      beast::error_code ec;
      stream_.shutdown(asio::socket_base::shutdown_send, ec);
      if (ec) return absl::UnavailableError(absl::StrCat("close write: ", ec.message()));
      return absl::OkStatus();
    }
  }

 private:
  Stream stream_;
  std::string buffered_;
};

std::string StatusLine(unsigned status, bool upgraded) {
  if (upgraded) return "HTTP/1.1 101 UPGRADED\r\n";
  return absl::StrCat("HTTP/1.1 ", status, " ",
                      std::string(http::obsolete_reason(static_cast<http::status>(status))),
                      "\r\n");
}

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, Shared& shared) : stream_(std::move(stream)), shared_(shared) {}

  void Start() {
    if constexpr (kIsTls<Stream>) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  // Clients without a CA-signed certificate end here.
                                  log::Warning("engined: TLS handshake refused: ", ec.message());
                                  return self->Close();
                                }
                                self->Read();
                              });
    } else {
      Read();
    }
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(shared_.body_limit);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      HttpResponse response = HttpResponse::Json(
          413,
          {{"message", absl::StrCat("request body larger than ", shared_.body_limit, " bytes")}});
      return Send(std::move(response), /*head=*/false, /*keep_alive=*/false, 11);
    }
    if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::error::eof &&
          ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
        log::Debug("engined: reading request: ", ec.message());
      }
      return Close();
    }
    http::request<http::string_body> request = parser_->release();
    RawRequest raw;
    raw.method = std::string(request.method_string());
    raw.target = std::string(request.target());
    for (const auto& field : request) {
      raw.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
          std::string(field.value());
    }
    raw.body = std::move(request.body());
    bool upgrade = absl::EqualsIgnoreCase(std::string(request[http::field::upgrade]), "tcp");
    log::Debug("engined: ", raw.method, " ", raw.target);

    HttpResponse response = shared_.handler(std::move(raw));
    if (response.stream || response.hijack) return HandOver(std::move(response), upgrade);
    Send(std::move(response), request.method() == http::verb::head, request.keep_alive(),
         request.version());
  }

  void Send(HttpResponse response, bool head, bool keep_alive, unsigned version) {
    auto out = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    for (auto& [name, value] : response.headers) out->set(name, value);
    out->keep_alive(keep_alive);
    if (head) {
      out->content_length(response.body.size());  // what GET would send
    } else {
      out->body() = std::move(response.body);
      out->prepare_payload();
    }
    http::async_write(stream_, *out,
                      [self = this->shared_from_this(), out](beast::error_code ec, size_t) {
                        if (ec || !out->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  // Writes the header, then gives the connection to the handler's function.
  void HandOver(HttpResponse response, bool upgrade) {
    bool hijack = static_cast<bool>(response.hijack);
    std::string header = StatusLine(response.status, hijack && upgrade);
    for (const auto& [name, value] : response.headers)
      absl::StrAppend(&header, name, ": ", value, "\r\n");
    if (hijack && upgrade) absl::StrAppend(&header, "Connection: Upgrade\r\nUpgrade: tcp\r\n");
    // The connection ends with the stream: said up front, so that a client
    // does not pool it and send its next request into a closed socket.
    if (!hijack) absl::StrAppend(&header, "Transfer-Encoding: chunked\r\nConnection: close\r\n");
    header += "\r\n";
    beast::error_code ec;
    asio::write(stream_, asio::buffer(header), ec);
    if (ec) return Close();

    int fd = NativeFd(stream_);
    auto connection = std::make_unique<StreamConnection<Stream>>(
        std::move(stream_), beast::buffers_to_string(buffer_.data()));
    std::function<void()> run;
    if (hijack) {
      run = [fn = std::move(response.hijack), c = connection.release()]() mutable {
        fn(std::unique_ptr<Connection>(c));
      };
    } else {
      run = [fn = std::move(response.stream), c = connection.release()]() mutable {
        fn(std::make_unique<ResponseStream>(std::unique_ptr<Connection>(c)));
      };
    }
    shared_.handed_over.Run(std::move(run), fd);
  }

  void Close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).shutdown(asio::socket_base::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close(ec);
  }

  Stream stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

// Accepts on one address and starts a session per connection.
class Listener {
 public:
  virtual ~Listener() = default;
  virtual void Close() = 0;
};

template <class Protocol>
class AcceptLoop : public Listener {
 public:
  using Acceptor = typename Protocol::acceptor;
  using Socket = typename Protocol::socket;

  AcceptLoop(Acceptor acceptor, Shared& shared, asio::ssl::context* tls)
      : acceptor_(std::move(acceptor)), shared_(shared), tls_(tls) {}

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, Socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        log::Warning("engined: accept: ", ec.message());
      } else if constexpr (std::is_same_v<Protocol, tcp>) {
        if (tls_ != nullptr) {
          std::make_shared<Session<TlsStream>>(TlsStream(std::move(socket), *tls_), shared_)
              ->Start();
        } else {
          std::make_shared<Session<Socket>>(std::move(socket), shared_)->Start();
        }
      } else {
        std::make_shared<Session<Socket>>(std::move(socket), shared_)->Start();
      }
      Accept();
    });
  }

  void Close() override {
    beast::error_code ec;
    acceptor_.close(ec);
  }

 private:
  Acceptor acceptor_;
  Shared& shared_;
  asio::ssl::context* tls_;
};

absl::Status FromAsio(const beast::error_code& ec, absl::string_view what) {
  return ErrnoError(ec.value(), what);
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(ServerOptions options, RequestHandler handler)
      : options_(std::move(options)), shared_{std::move(handler), options_.body_limit, {}} {}

  absl::Status Start() {
    for (const ListenAddress& address : options_.addresses) {
      GANTRY_RETURN_IF_ERROR(Annotate(Listen(address), absl::StrCat("-H ", address.text)));
    }
    int threads = std::max(1, options_.threads);
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
    return absl::OkStatus();
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    work_.reset();
    io_.stop();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    for (auto& listener : listeners_) listener->Close();
    for (const std::string& path : socket_paths_) ::unlink(path.c_str());
    shared_.handed_over.EndAll();
  }

  ~Impl() { Stop(); }

 private:
  absl::Status Listen(const ListenAddress& address) {
    beast::error_code ec;
    if (address.kind == ListenAddress::Kind::kUnix) {
      GANTRY_RETURN_IF_ERROR(PrepareSocketPath(address.path));
      unix_socket::acceptor acceptor(io_);
      acceptor.open(unix_socket(), ec);
      if (!ec) acceptor.bind(unix_socket::endpoint(address.path), ec);
      if (ec) return FromAsio(ec, absl::StrCat("bind ", address.path));
      socket_paths_.push_back(address.path);
      if (options_.socket_group.has_value()) {
        GANTRY_RETURN_IF_ERROR(RestrictSocket(address.path, options_.socket_group));
      } else if (::chmod(address.path.c_str(), 0600) != 0) {
        return LastErrno(absl::StrCat("chmod 0600 ", address.path));
      }
      acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return FromAsio(ec, absl::StrCat("listen on ", address.path));
      auto loop = std::make_unique<AcceptLoop<unix_socket>>(std::move(acceptor), shared_, nullptr);
      loop->Accept();
      listeners_.push_back(std::move(loop));
      return absl::OkStatus();
    }

    asio::ssl::context* tls = nullptr;
    if (options_.tls.has_value()) {
      GANTRY_ASSIGN_OR_RETURN(tls, TlsContext());
    } else if (!address.IsLoopback()) {
      // Whoever reaches a plain TCP socket is root on this machine.
      return absl::InvalidArgumentError(
          "tcp:// on a non-loopback address needs --tlsverify --tlscacert --tlscert --tlskey");
    } else {
      log::Warning("engined: serving ", address.text,
                   " without TLS: every local user can control engined through it");
    }
    beast::error_code parse_ec;
    tcp::endpoint endpoint(asio::ip::make_address(address.host, parse_ec), address.port);
    if (parse_ec) return FromAsio(parse_ec, absl::StrCat("address ", address.host));
    tcp::acceptor acceptor(io_);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return FromAsio(ec, "listen");
    auto loop = std::make_unique<AcceptLoop<tcp>>(std::move(acceptor), shared_, tls);
    loop->Accept();
    listeners_.push_back(std::move(loop));
    return absl::OkStatus();
  }

  absl::StatusOr<asio::ssl::context*> TlsContext() {
    if (tls_) return tls_.get();
    const TlsFiles& files = *options_.tls;
    auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    beast::error_code ec;
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    context->load_verify_file(files.ca_cert, ec);
    if (ec)
      return absl::InvalidArgumentError(
          absl::StrCat("--tlscacert ", files.ca_cert, ": ", ec.message()));
    context->use_certificate_chain_file(files.cert, ec);
    if (ec)
      return absl::InvalidArgumentError(absl::StrCat("--tlscert ", files.cert, ": ", ec.message()));
    context->use_private_key_file(files.key, asio::ssl::context::pem, ec);
    if (ec)
      return absl::InvalidArgumentError(absl::StrCat("--tlskey ", files.key, ": ", ec.message()));
    // Mutual TLS: a client without a certificate the CA signed is refused.
    context->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    tls_ = std::move(context);
    return tls_.get();
  }

  ServerOptions options_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  Shared shared_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::string> socket_paths_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
};

HttpServer::HttpServer(ServerOptions options, RequestHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() = default;

absl::Status HttpServer::Start() { return impl_->Start(); }

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace gantry::engined
