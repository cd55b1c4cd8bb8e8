// The HTTP server on a private unix socket with a test router: keep-alive,
// HEAD, body limits, chunked streams and hijacked connections on the wire.
#include <sys/stat.h>

#include <thread>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "engined/api/router.h"
#include "engined/server/http_server.h"
#include "tests/temp_dir.h"
#include "tests/unix_http.h"

using namespace gantry::engined;
using gantry::testing::ExchangeRaw;
using gantry::testing::HttpOverUnix;

namespace {

Router TestRouter() {
  Router router;
  router.Add("GET", "/hello", [](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    return HttpResponse::Text(200, "hi");
  });
  router.Add("HEAD", "/hello", [](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    return HttpResponse::Text(200, "hi");
  });
  router.Add("POST", "/echo", [](const HttpRequest& request) -> absl::StatusOr<HttpResponse> {
    return HttpResponse::Text(200, request.body);
  });
  router.Add("GET", "/events", [](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    HttpResponse response;
    response.SetHeader("Content-Type", "application/json");
    response.stream = [](std::unique_ptr<ResponseStream> stream) {
      (void)stream->WriteJson({{"n", 1}});
      (void)stream->WriteJson({{"n", 2}});
    };
    return response;
  });
  router.Add("GET", "/forever", [](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    HttpResponse response;
    // Streams until the client or the server ends the connection.
    response.stream = [](std::unique_ptr<ResponseStream> stream) {
      while (stream->Write("tick\n").ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    };
    return response;
  });
  router.Add("POST", "/attach", [](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
    HttpResponse response;
    response.SetHeader("Content-Type", "application/vnd.docker.raw-stream");
    // Echoes what the client sends until it half-closes.
    response.hijack = [](std::unique_ptr<Connection> connection) {
      char buffer[256];
      while (true) {
        absl::StatusOr<size_t> n = connection->Read(buffer, sizeof buffer);
        if (!n.ok() || *n == 0) break;
        (void)connection->Write(absl::string_view(buffer, *n));
      }
      (void)connection->Write("bye");
    };
    return response;
  });
  return router;
}

struct TestServer {
  gantry::testing::TempDir dir{"engined-http"};
  std::string socket = dir.path() + "/api.sock";
  Router router = TestRouter();
  HttpServer server;

  TestServer()
      : server(
            [this] {
              ServerOptions options;
              options.addresses.push_back(*ParseListenAddress("unix://" + socket, false));
              options.body_limit = 1024;
              return options;
            }(),
            [this](RawRequest request) { return router.Handle(std::move(request)); }) {
    REQUIRE(server.Start().ok());
  }
};

}  // namespace

TEST_CASE("the socket is root-only without a group", "[server]") {
  TestServer t;
  struct stat st;
  REQUIRE(::stat(t.socket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("Stop removes the socket file", "[server]") {
  TestServer t;
  t.server.Stop();
  CHECK(::access(t.socket.c_str(), F_OK) != 0);
}

TEST_CASE("keep-alive serves several requests on one connection", "[server]") {
  TestServer t;
  std::string out = ExchangeRaw(t.socket,
                                "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  size_t first = out.find("HTTP/1.1 200 OK");
  REQUIRE(first != std::string::npos);
  CHECK(out.find("HTTP/1.1 200 OK", first + 1) != std::string::npos);
}

TEST_CASE("HEAD gets GET's headers without a body", "[server]") {
  TestServer t;
  auto response = HttpOverUnix(t.socket, "HEAD", "/hello");
  CHECK(response.status == 200);
  CHECK(response.headers["content-length"] == "2");
  CHECK(response.body.empty());
}

TEST_CASE("request bodies are read, and refused past the limit", "[server]") {
  TestServer t;
  auto small = gantry::testing::ParseRawResponse(ExchangeRaw(
      t.socket,
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"));
  CHECK(small.body == "hello");
  std::string big(2048, 'x');
  auto refused = gantry::testing::ParseRawResponse(ExchangeRaw(
      t.socket, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" + big));
  CHECK(refused.status == 413);
  CHECK(absl::StrContains(refused.body, "request body larger than 1024 bytes"));
}

TEST_CASE("a stream goes out chunked and ends with the last chunk", "[server]") {
  TestServer t;
  auto response = HttpOverUnix(t.socket, "GET", "/events");
  CHECK(response.status == 200);
  CHECK(response.headers["transfer-encoding"] == "chunked");
  // The stream ends the connection, and says so, so clients do not reuse it.
  CHECK(response.headers["connection"] == "close");
  CHECK(response.body == "8\r\n{\"n\":1}\n\r\n8\r\n{\"n\":2}\n\r\n0\r\n\r\n");
}

TEST_CASE("an Upgrade: tcp request is hijacked with 101 and raw bytes", "[server]") {
  TestServer t;
  absl::StatusOr<gantry::UniqueFd> fd = gantry::ConnectUnixSocket(t.socket);
  REQUIRE(fd.ok());
  // The bytes after the request (stdin) may arrive with it, as the CLI sends them.
  std::string request =
      "POST /attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nping";
  REQUIRE(::write(fd->get(), request.data(), request.size()) == ssize_t(request.size()));
  ::shutdown(fd->get(), SHUT_WR);
  std::string out;
  char buffer[1024];
  ssize_t n;
  while ((n = ::read(fd->get(), buffer, sizeof buffer)) > 0) out.append(buffer, size_t(n));
  auto response = gantry::testing::ParseRawResponse(out);
  CHECK(response.status == 101);
  CHECK(absl::StartsWith(out, "HTTP/1.1 101 UPGRADED\r\n"));
  CHECK(response.headers["upgrade"] == "tcp");
  CHECK(response.headers["content-type"] == "application/vnd.docker.raw-stream");
  CHECK(response.body == "pingbye");
}

TEST_CASE("Stop ends open streams and waits for their handlers", "[server]") {
  TestServer t;
  absl::StatusOr<gantry::UniqueFd> fd = gantry::ConnectUnixSocket(t.socket);
  REQUIRE(fd.ok());
  std::string request = "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::write(fd->get(), request.data(), request.size()) == ssize_t(request.size()));
  char buffer[256];
  REQUIRE(::read(fd->get(), buffer, sizeof buffer) > 0);  // the stream is flowing

  auto start = std::chrono::steady_clock::now();
  t.server.Stop();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  ssize_t n;
  while ((n = ::read(fd->get(), buffer, sizeof buffer)) > 0) {
  }
  CHECK(n == 0);  // the client sees the end of the connection
}
