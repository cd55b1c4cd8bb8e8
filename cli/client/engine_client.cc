#include "cli/client/engine_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/client/ssh_dialer.h"
#include "common/errors.h"
#include "common/unix_socket.h"

namespace gantry::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// Docker's error classes by status code, so callers can tell "not found"
// from "conflict" without reading the message.
absl::Status ErrorFromResponse(int status, absl::string_view body) {
  std::string message(absl::StripTrailingAsciiWhitespace(body));
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
    message = parsed["message"].get<std::string>();
  }
  if (message.empty()) message = absl::StrCat("HTTP status ", status);
  message = absl::StrCat("Error response from daemon: ", message);
  switch (status) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 401:
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 409:
      return absl::FailedPreconditionError(message);
    case 501:
      return absl::UnimplementedError(message);
    default:
      return absl::InternalError(message);
  }
}

class BeastResponseStream : public ResponseStream {
 public:
  BeastResponseStream(int fd, int family) : socket_(io_) {
    socket_.assign(asio::generic::stream_protocol(family, 0), fd);
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  // Writes the request (with `body` chunked after its header, when given)
  // and reads the answer's header.
  absl::Status Send(http::request<http::string_body>& request, const BodyProducer& body) {
    beast::error_code ec;
    if (body) {
      http::request_serializer<http::string_body> serializer(request);
      http::write_header(socket_, serializer, ec);
      if (ec) return absl::UnavailableError(absl::StrCat("sending the request: ", ec.message()));
      GANTRY_RETURN_IF_ERROR(body([this](absl::string_view data) -> absl::Status {
        if (data.empty()) return absl::OkStatus();
        beast::error_code chunk_ec;
        asio::write(socket_, http::make_chunk(asio::buffer(data.data(), data.size())), chunk_ec);
        if (chunk_ec) {
          return absl::UnavailableError(absl::StrCat("sending the request: ", chunk_ec.message()));
        }
        return absl::OkStatus();
      }));
      asio::write(socket_, http::make_chunk_last(), ec);
    } else {
      http::write(socket_, request, ec);
    }
    if (ec) return absl::UnavailableError(absl::StrCat("sending the request: ", ec.message()));
    if (request.method() == http::verb::head) parser_.skip(true);
    http::read_header(socket_, buffer_, parser_, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("reading the answer: ", ec.message()));
    return absl::OkStatus();
  }

  int status() const override { return parser_.get().result_int(); }
  std::string header(absl::string_view name) const override {
    return std::string(parser_.get()[beast::string_view(name.data(), name.size())]);
  }

  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    while (!parser_.is_done()) {
      parser_.get().body().data = buffer;
      parser_.get().body().size = size;
      beast::error_code ec;
      // read_some: a stream's pieces as they come (events, stats, progress).
      http::read_some(socket_, buffer_, parser_, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec == http::error::partial_message || ec == asio::error::eof) {
        return absl::UnavailableError("engined closed the connection before the answer ended");
      }
      if (ec) return absl::UnavailableError(absl::StrCat("reading the answer: ", ec.message()));
      const size_t n = size - parser_.get().body().size;
      if (n > 0) return n;
    }
    return 0;
  }

  // The socket and what was read past the header, for a hijack.
  absl::StatusOr<HijackedConnection> TakeOver() {
    HijackedConnection hijacked;
    hijacked.fd = UniqueFd(::dup(socket_.native_handle()));
    if (!hijacked.fd) return LastErrno("dup of the attached connection");
    const auto data = buffer_.data();
    hijacked.buffered.assign(static_cast<const char*>(data.data()), data.size());
    return hijacked;
  }

 private:
  asio::io_context io_;
  asio::generic::stream_protocol::socket socket_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
};

absl::StatusOr<UniqueFd> ConnectTcp(const std::string& address) {
  std::pair<std::string, std::string> host_port = absl::StrSplit(address, absl::MaxSplits(':', 1));
  if (host_port.second.empty()) host_port.second = "2375";
  struct addrinfo hints = {};
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host_port.first.c_str(), host_port.second.c_str(), &hints, &found);
      rc != 0) {
    return absl::UnavailableError(absl::StrCat(address, ": ", ::gai_strerror(rc)));
  }
  absl::Status last = absl::UnavailableError(absl::StrCat(address, ": no address"));
  for (struct addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) continue;
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(found);
      return fd;
    }
    last = LastErrno(absl::StrCat("connect to ", address));
  }
  ::freeaddrinfo(found);
  return last;
}

int SocketFamily(int fd) {
  struct sockaddr_storage address = {};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<struct sockaddr*>(&address), &length) != 0) {
    return AF_UNIX;
  }
  return address.ss_family;
}

// Percent-encodes every byte `keep` refuses.
std::string PercentEncode(absl::string_view text, bool (*keep)(unsigned char)) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (keep(c)) {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// `target` with what may not stand in an HTTP request line percent-encoded
// (a name the user typed with a space in it gets engined's 404, not a
// malformed request).
std::string RequestTarget(absl::string_view target) {
  return PercentEncode(target, [](unsigned char c) {
    return c > 0x20 && c < 0x7f &&
           absl::string_view("\"<>\\^`{|}#").find(char(c)) == absl::string_view::npos;
  });
}

// "1.41" < "1.43" < "1.100": by number, part by part.
int CompareVersions(absl::string_view a, absl::string_view b) {
  std::vector<absl::string_view> pa = absl::StrSplit(a, '.'), pb = absl::StrSplit(b, '.');
  for (size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    int x = 0, y = 0;
    if (i < pa.size()) (void)absl::SimpleAtoi(pa[i], &x);
    if (i < pb.size()) (void)absl::SimpleAtoi(pb[i], &y);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// A JSON body as a request's extras (sent whole, with its length).
RequestExtras JsonBody(const std::optional<nlohmann::json>& body) {
  RequestExtras extras;
  if (!body.has_value()) return extras;
  extras.content_type = "application/json";
  extras.body = body->dump();
  return extras;
}

}  // namespace

absl::Status ResponseStream::ReadBody(const std::function<bool(absl::string_view)>& on_data) {
  char chunk[16 * 1024];
  for (;;) {
    GANTRY_ASSIGN_OR_RETURN(size_t n, Read(chunk, sizeof chunk));
    if (n == 0 || !on_data(absl::string_view(chunk, n))) return absl::OkStatus();
  }
}

absl::Status ResponseStream::ReadJsonLines(
    const std::function<absl::Status(const nlohmann::json&)>& on_message) {
  std::string pending;
  absl::Status handled;
  GANTRY_RETURN_IF_ERROR(ReadBody([&](absl::string_view data) {
    pending.append(data.data(), data.size());
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      nlohmann::json message = nlohmann::json::parse(pending.substr(0, newline), nullptr, false);
      pending.erase(0, newline + 1);
      if (!message.is_object()) continue;
      handled = on_message(message);
      if (!handled.ok()) return false;
    }
    return true;
  }));
  return handled;
}

absl::StatusOr<std::string> ResponseStream::ReadAll() {
  std::string body;
  GANTRY_RETURN_IF_ERROR(ReadBody([&body](absl::string_view data) {
    body.append(data.data(), data.size());
    return true;
  }));
  return body;
}

BodyProducer BodyFromFd(int fd, std::string what) {
  return [fd, what = std::move(what)](const BodyWriter& write) -> absl::Status {
    char buffer[64 * 1024];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LastErrno(absl::StrCat("reading ", what));
      if (n == 0) return absl::OkStatus();
      GANTRY_RETURN_IF_ERROR(write(absl::string_view(buffer, size_t(n))));
    }
  };
}

std::string QueryEscape(absl::string_view value) {
  return PercentEncode(value, [](unsigned char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
  });
}

EngineClient::EngineClient(std::string host, std::optional<TlsOptions> tls)
    : host_(std::move(host)), tls_(std::move(tls)) {}

absl::Status EngineClient::Unreachable(absl::string_view why) const {
  if (absl::StrContains(why, "Permission denied")) {
    return absl::PermissionDeniedError(
        absl::StrCat("permission denied reaching engined at ", host_,
                     " — run as root or as a member of the gantry group"));
  }
  return absl::UnavailableError(absl::StrCat("cannot reach engined at ", host_,
                                             " — is it running? start it with: sudo engined"));
}

absl::StatusOr<UniqueFd> EngineClient::Dial() {
  absl::StatusOr<UniqueFd> fd;
  if (absl::StartsWith(host_, "unix://")) {
    fd = ConnectUnixSocket(std::string(absl::StripPrefix(host_, "unix://")));
  } else if (absl::StartsWith(host_, "/")) {
    fd = ConnectUnixSocket(host_);
  } else if (absl::StartsWith(host_, "ssh://")) {
    GANTRY_ASSIGN_OR_RETURN(SshAddress address, ParseSshAddress(host_));
    fd = DialSsh(address);
  } else if (absl::StartsWith(host_, "tcp://")) {
    std::string address(absl::StripPrefix(host_, "tcp://"));
    address = std::string(absl::StripSuffix(address, "/"));
    fd = ConnectTcp(address);
    if (fd.ok() && tls_.has_value()) {
      const std::string server = address.substr(0, address.rfind(':'));
      return OpenTlsTunnel(std::move(*fd), server, *tls_);
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid host \"", host_, "\": expected unix:///path, tcp://host:port or ssh://user@host"));
  }
  if (!fd.ok()) return Unreachable(fd.status().message());
  return fd;
}

absl::StatusOr<std::unique_ptr<ResponseStream>> EngineClient::Send(const std::string& method,
                                                                   const std::string& target,
                                                                   const RequestExtras& extras,
                                                                   bool upgrade,
                                                                   HijackedConnection* hijacked) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, Dial());
  const int family = SocketFamily(fd.get());
  auto stream = std::make_unique<BeastResponseStream>(fd.Release(), family);
  http::request<http::string_body> request{http::string_to_verb(method), RequestTarget(target), 11};
  request.set(http::field::host, "docker");
  request.set(http::field::user_agent, "gantry-cli/" GANTRY_VERSION);
  for (const auto& [name, value] : extras.headers) request.set(name, value);
  if (!extras.content_type.empty()) request.set(http::field::content_type, extras.content_type);
  if (upgrade) {
    request.set(http::field::connection, "Upgrade");
    request.set(http::field::upgrade, "tcp");
  }
  if (extras.streamed_body) {
    request.chunked(true);
  } else {
    if (extras.body.has_value()) request.body() = *extras.body;
    request.prepare_payload();
  }
  if (absl::Status sent = stream->Send(request, extras.streamed_body); !sent.ok()) {
    if (absl::StartsWith(host_, "ssh://")) {
      // ssh has said why on stderr (refused, denied, no gantry there).
      return absl::UnavailableError(absl::StrCat(
          "cannot reach engined at ", host_,
          " — ssh, or `gantry system dial-stdio` on the remote host, ended: ", sent.message()));
    }
    return absl::UnavailableError(
        absl::StrCat("engined at ", host_, ": ", method, " ", target, ": ", sent.message()));
  }
  const int status = stream->status();
  if (status < 200 || status >= 300) {
    if (upgrade && status == 101) {
      GANTRY_ASSIGN_OR_RETURN(*hijacked, stream->TakeOver());
      return stream;
    }
    absl::StatusOr<std::string> error_body = stream->ReadAll();
    return ErrorFromResponse(status, error_body.ok() ? *error_body : "");
  }
  if (upgrade) {
    // An engined that answers 200 without upgrading still streams on the
    // same connection.
    GANTRY_ASSIGN_OR_RETURN(*hijacked, stream->TakeOver());
  }
  return stream;
}

absl::StatusOr<std::string> EngineClient::ApiVersion() {
  if (api_version_.has_value()) return *api_version_;
  HijackedConnection unused;
  GANTRY_ASSIGN_OR_RETURN(std::unique_ptr<ResponseStream> ping,
                          Send("GET", "/_ping", {}, false, &unused));
  const std::string server = ping->header("API-Version");
  api_version_ = kClientApiVersion;
  if (!server.empty() && CompareVersions(server, kClientApiVersion) < 0) api_version_ = server;
  return *api_version_;
}

absl::StatusOr<std::unique_ptr<ResponseStream>> EngineClient::Open(
    const std::string& method, const std::string& path, const std::optional<nlohmann::json>& body) {
  return Open(method, path, JsonBody(body));
}

absl::StatusOr<std::unique_ptr<ResponseStream>> EngineClient::Open(const std::string& method,
                                                                   const std::string& path,
                                                                   const RequestExtras& extras) {
  GANTRY_ASSIGN_OR_RETURN(std::string version, ApiVersion());
  HijackedConnection unused;
  return Send(method, absl::StrCat("/v", version, path), extras, false, &unused);
}

absl::StatusOr<HttpResult> EngineClient::Call(const std::string& method, const std::string& path,
                                              const std::optional<nlohmann::json>& body) {
  GANTRY_ASSIGN_OR_RETURN(std::unique_ptr<ResponseStream> stream, Open(method, path, body));
  HttpResult result;
  result.status = stream->status();
  GANTRY_ASSIGN_OR_RETURN(result.body, stream->ReadAll());
  return result;
}

absl::StatusOr<nlohmann::json> EngineClient::CallJson(const std::string& method,
                                                      const std::string& path,
                                                      const std::optional<nlohmann::json>& body) {
  GANTRY_ASSIGN_OR_RETURN(HttpResult result, Call(method, path, body));
  nlohmann::json parsed = nlohmann::json::parse(result.body, nullptr, false);
  if (parsed.is_discarded()) {
    return absl::InternalError(absl::StrCat(method, " ", path, ": engined's answer is not JSON"));
  }
  return parsed;
}

absl::StatusOr<HijackedConnection> EngineClient::Hijack(const std::string& method,
                                                        const std::string& path,
                                                        const std::optional<nlohmann::json>& body) {
  GANTRY_ASSIGN_OR_RETURN(std::string version, ApiVersion());
  HijackedConnection hijacked;
  GANTRY_ASSIGN_OR_RETURN(
      std::unique_ptr<ResponseStream> stream,
      Send(method, absl::StrCat("/v", version, path), JsonBody(body), true, &hijacked));
  return hijacked;
}

}  // namespace gantry::cli
