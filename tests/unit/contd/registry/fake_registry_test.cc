// The registry client against a scripted HTTP server on 127.0.0.1, for what
// Debian's docker-registry cannot show: Bearer token flow, redirects to
// another host, Range answered through a redirect, stalled peers.
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/errors.h"
#include "contd/registry/registry_client.h"

using namespace gantry::registry;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Serves each connection on its own thread with `handler`, recording every
// request and counting connections. Without keep-alive a connection answers
// one request and closes. With it, a connection answers until the client
// closes it; or, with `answers_per_connection`, it answers that many and then
// reads the next request and closes without answering, as a server whose
// idle timeout fires just as a request arrives.
class FakeServer {
 public:
  using Handler = std::function<Response(const Request&)>;
  struct Options {
    bool keep_alive = false;
    int answers_per_connection = 0;  // 0: no limit
  };
  explicit FakeServer(Handler handler) : FakeServer(Options{}, std::move(handler)) {}
  FakeServer(Options options, Handler handler)
      : options_(options),
        handler_(std::move(handler)),
        acceptor_(ioc_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeServer() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);  // unblocks accept()
    thread_.join();
    std::lock_guard lock(mu_);
    for (auto& socket : sockets_) ::shutdown(socket->native_handle(), SHUT_RDWR);
    for (std::thread& t : connection_threads_) t.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::string domain() const { return absl::StrCat("127.0.0.1:", port()); }
  std::vector<Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Connections that carried an HTTP request (not the client's TLS probe).
  int connections() const { return connections_; }

 private:
  void Serve() {
    while (!stop_) {
      auto socket = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stop_) continue;
      std::lock_guard lock(mu_);
      sockets_.push_back(socket);
      connection_threads_.emplace_back([this, socket] {
        ServeConnection(*socket);
        // Closed at once, not when the server goes: a client waiting for an
        // answer (a TLS probe's ServerHello) sees the end now.
        ::shutdown(socket->native_handle(), SHUT_RDWR);
      });
    }
  }

  void ServeConnection(tcp::socket& socket) {
    beast::flat_buffer buffer;
    for (int answered = 0;; ++answered) {
      boost::system::error_code ec;
      Request req;
      http::read(socket, buffer, req, ec);
      if (ec) return;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
      }
      if (answered == 0) ++connections_;
      if (answered == options_.answers_per_connection && answered > 0) return;
      Response res = handler_(req);
      res.version(11);
      res.keep_alive(options_.keep_alive);
      if (req.method() != http::verb::head) res.prepare_payload();
      http::write(socket, res, ec);
      if (ec || !options_.keep_alive) return;
    }
  }

  const Options options_;
  Handler handler_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Request> requests_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> connection_threads_;
};

Response Reply(http::status status, std::string body = "") {
  Response res(status, 11);
  res.body() = std::move(body);
  return res;
}

std::string Field(const Request& req, http::field f) {
  auto it = req.find(f);
  return it == req.end() ? "" : std::string(it->value());
}

class StringSink : public BlobSink {
 public:
  explicit StringSink(std::string held = "") : data(std::move(held)) {}
  int64_t offset() const override { return static_cast<int64_t>(data.size()); }
  absl::Status ReadExisting(const std::function<absl::Status(absl::string_view)>& fn) override {
    return fn(data);
  }
  absl::Status Write(absl::string_view d) override {
    data.append(d.data(), d.size());
    return absl::OkStatus();
  }
  std::string data;
};

// A client whose config.json holds user:pw for `domain`.
std::unique_ptr<RegistryClient> ClientWithCredentials(const std::string& domain) {
  std::string config = "/tmp/gantry-fake-registry-config.json";
  FILE* f = std::fopen(config.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fprintf(f, R"({"auths":{"%s":{"auth":"dXNlcjpwdw=="}}})", domain.c_str());
  std::fclose(f);
  RegistryClientOptions options;
  options.docker_config = config;
  options.hosts.certs_dir = "/nonexistent";
  auto client = RegistryClient::Create(options);
  ::unlink(config.c_str());
  REQUIRE(client.ok());
  return *std::move(client);
}

std::unique_ptr<RegistryClient> NoCertsClient() {
  RegistryClientOptions options;
  options.hosts.certs_dir = "/nonexistent";
  return *RegistryClient::Create(options);
}

const char kManifest[] =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";

}  // namespace

TEST_CASE(
    "Bearer challenges are answered with a token fetched once per scope, using the "
    "config.json credentials",
    "[registry][auth]") {
  std::string token_realm;
  FakeServer server([&](const Request& req) {
    std::string target(req.target());
    if (absl::StartsWith(target, "/token")) {
      if (Field(req, http::field::authorization) != "Basic dXNlcjpwdw==")  // user:pw
        return Reply(http::status::unauthorized);
      return Reply(http::status::ok, R"({"token":"tok-1","expires_in":300})");
    }
    if (Field(req, http::field::authorization) != "Bearer tok-1") {
      Response res = Reply(http::status::unauthorized);
      res.set(http::field::www_authenticate,
              absl::StrCat("Bearer realm=\"", token_realm, "\",service=\"fake\""));
      return res;
    }
    Response res = Reply(http::status::ok, kManifest);
    res.set(http::field::content_type, kOciManifest);
    res.set("Docker-Content-Digest", gantry::Digest::FromBytes(kManifest).str());
    return res;
  });
  token_realm = absl::StrCat("http://", server.domain(), "/token");

  auto client = ClientWithCredentials(server.domain());
  auto ref = *Reference::Parse(server.domain() + "/lib/app:latest");
  for (int i = 0; i < 2; ++i) {
    auto manifest = client->FetchManifest(ref);
    INFO(manifest.status().ToString());
    REQUIRE(manifest.ok());
    CHECK(manifest->descriptor.media_type == kOciManifest);
  }
  int token_requests = 0;
  for (const Request& req : server.requests()) {
    std::string target(req.target());
    if (!absl::StartsWith(target, "/token")) continue;
    ++token_requests;
    CHECK(target == "/token?service=fake&scope=repository%3Alib%2Fapp%3Apull");
  }
  CHECK(token_requests == 1);
}

TEST_CASE("blob GETs follow redirects, drop Authorization on another host and resume with Range",
          "[registry][http]") {
  std::string blob = "0123456789abcdefghijklmnopqrstuvwxyz";
  gantry::Digest digest = gantry::Digest::FromBytes(blob);
  int port = 0;
  FakeServer server([&](const Request& req) {
    std::string target(req.target());
    if (target == "/v2/") return Reply(http::status::ok, "{}");
    if (absl::StartsWith(target, "/v2/lib/app/blobs/")) {
      if (Field(req, http::field::authorization) != "Basic dXNlcjpwdw==") {
        Response res = Reply(http::status::unauthorized);
        res.set(http::field::www_authenticate, "Basic realm=\"fake\"");
        return res;
      }
      Response res = Reply(http::status::temporary_redirect);
      // "localhost" is another host to the client than "127.0.0.1".
      res.set(http::field::location, absl::StrCat("http://localhost:", port, "/storage?sig=1"));
      return res;
    }
    std::string range = Field(req, http::field::range);  // "bytes=N-"
    size_t from = range.empty() ? 0 : std::stoul(range.substr(6));
    Response res =
        Reply(range.empty() ? http::status::ok : http::status::partial_content, blob.substr(from));
    if (!range.empty())
      res.set(http::field::content_range,
              absl::StrCat("bytes ", from, "-", blob.size() - 1, "/", blob.size()));
    return res;
  });
  port = server.port();
  auto client = ClientWithCredentials(server.domain());
  auto repo = *Reference::Parse(server.domain() + "/lib/app");
  Descriptor desc{"application/octet-stream", digest, static_cast<int64_t>(blob.size())};

  StringSink sink(blob.substr(0, 10));  // an earlier download stopped at 10 bytes
  auto fetched = client->FetchBlob(repo, desc, sink);
  INFO(fetched.status().ToString());
  REQUIRE(fetched.ok());
  CHECK(*fetched == digest);
  CHECK(sink.data == blob);
  auto requests = server.requests();
  REQUIRE(requests.size() >= 2);
  const Request& storage = requests.back();
  CHECK(std::string(storage.target()) == "/storage?sig=1");
  CHECK(Field(storage, http::field::range) == "bytes=10-");
  CHECK(Field(storage, http::field::host) == absl::StrCat("localhost:", port));
  CHECK(Field(storage, http::field::authorization).empty());  // not leaked to the storage host
  CHECK(Field(requests[requests.size() - 2], http::field::authorization) == "Basic dXNlcjpwdw==");
}

TEST_CASE("a manifest whose Docker-Content-Digest disagrees with its bytes is refused",
          "[registry]") {
  FakeServer server([&](const Request& req) {
    if (std::string(req.target()) == "/v2/") return Reply(http::status::ok, "{}");
    Response res = Reply(http::status::ok, kManifest);
    res.set(http::field::content_type, kOciManifest);
    res.set("Docker-Content-Digest", gantry::Digest::FromBytes("other").str());
    return res;
  });
  auto client = NoCertsClient();
  auto manifest = client->FetchManifest(*Reference::Parse(server.domain() + "/lib/app:1"));
  REQUIRE_FALSE(manifest.ok());
  CHECK(manifest.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(manifest.status().message()), Catch::Contains("digest mismatch"));
}

TEST_CASE("a peer that never answers fails the request after the I/O timeout", "[registry][http]") {
  // Listening but never accepting: connects succeed (backlog), replies never come.
  boost::asio::io_context ioc;
  tcp::acceptor silent(ioc, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  Url url = *Url::Parse(absl::StrCat("http://127.0.0.1:", silent.local_endpoint().port(), "/v2/"));
  HttpOptions options;
  options.io_timeout = std::chrono::milliseconds(300);
  HttpClient client(options, nullptr);
  HttpRequest request;
  request.url = url;
  auto start = std::chrono::steady_clock::now();
  auto response = client.Send(request);
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK_THAT(std::string(response.status().message()), Catch::Contains("timed out after 300 ms"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("a server ignoring Range resends the whole blob; the held prefix is skipped, not doubled",
          "[registry][http]") {
  std::string blob = "the whole blob, sent again from its first byte";
  FakeServer server([&](const Request& req) {
    if (std::string(req.target()) == "/v2/") return Reply(http::status::ok, "{}");
    return Reply(http::status::ok, blob);  // Range ignored
  });
  auto client = NoCertsClient();
  Descriptor desc{"application/octet-stream", gantry::Digest::FromBytes(blob),
                  static_cast<int64_t>(blob.size())};
  StringSink sink(blob.substr(0, 9));
  auto fetched = client->FetchBlob(*Reference::Parse(server.domain() + "/lib/app"), desc, sink);
  INFO(fetched.status().ToString());
  REQUIRE(fetched.ok());
  CHECK(sink.data == blob);
}

namespace {

// A registry with one manifest (lib/app:1, HEAD and GET) and one blob.
FakeServer::Handler SmallRegistry(const std::string& blob) {
  return [blob](const Request& req) {
    std::string target(req.target());
    if (target == "/v2/") return Reply(http::status::ok, "{}");
    if (absl::StartsWith(target, "/v2/lib/app/blobs/")) return Reply(http::status::ok, blob);
    bool head = req.method() == http::verb::head;
    Response res = Reply(http::status::ok, head ? "" : kManifest);
    res.set(http::field::content_type, kOciManifest);
    res.set("Docker-Content-Digest", gantry::Digest::FromBytes(kManifest).str());
    if (head) res.content_length(sizeof kManifest - 1);
    return res;
  };
}

}  // namespace

TEST_CASE("requests to one registry reuse one kept-alive connection", "[registry][http]") {
  std::string blob = "a blob served over the same connection as the manifest";
  FakeServer server({.keep_alive = true}, SmallRegistry(blob));
  auto client = NoCertsClient();
  auto ref = *Reference::Parse(server.domain() + "/lib/app:1");
  Descriptor desc{"application/octet-stream", gantry::Digest::FromBytes(blob),
                  static_cast<int64_t>(blob.size())};
  for (int i = 0; i < 2; ++i) {
    auto resolved = client->Resolve(ref);
    INFO(resolved.status().ToString());
    REQUIRE(resolved.ok());
    auto manifest = client->FetchManifest(ref);
    REQUIRE(manifest.ok());
    StringSink sink;
    auto fetched = client->FetchBlob(ref, desc, sink);
    REQUIRE(fetched.ok());
    CHECK(sink.data == blob);
  }
  CHECK(server.requests().size() == 7);  // /v2/, then HEAD, GET manifest, GET blob twice
  CHECK(server.connections() == 1);
}

TEST_CASE("a GET on a kept-alive connection the server closed is sent again on a new one",
          "[registry][http]") {
  std::string blob = "sent on the second connection";
  // Each connection answers one request and drops the next one unanswered.
  FakeServer server({.keep_alive = true, .answers_per_connection = 1}, SmallRegistry(blob));
  auto client = NoCertsClient();
  auto ref = *Reference::Parse(server.domain() + "/lib/app:1");
  auto manifest = client->FetchManifest(ref);  // /v2/ on the first, the GET retried
  INFO(manifest.status().ToString());
  REQUIRE(manifest.ok());
  Descriptor desc{"application/octet-stream", gantry::Digest::FromBytes(blob),
                  static_cast<int64_t>(blob.size())};
  StringSink sink;
  auto fetched = client->FetchBlob(ref, desc, sink);
  INFO(fetched.status().ToString());
  REQUIRE(fetched.ok());
  CHECK(sink.data == blob);
  CHECK(server.requests().size() == 5);  // the two dropped GETs and their retries
  CHECK(server.connections() == 3);
}
