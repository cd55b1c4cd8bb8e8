// engined's HTTP/1.1 server (Boost.Beast on Asio): unix sockets and TCP (plain
// on loopback, mutual TLS elsewhere), keep-alive, a bounded request body, a
// few threads, and handing connections over for chunked streams and
// hijacked (attach/exec) sessions.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engined/api/router.h"
#include "engined/server/listen_address.h"

namespace gantry::engined {

struct TlsFiles {
  std::string ca_cert;  // clients must present a certificate this CA signed
  std::string cert;
  std::string key;
};

struct ServerOptions {
  std::vector<ListenAddress> addresses;
  // Unix sockets are 0660 with this group, else 0600 (root only).
  std::optional<gid_t> socket_group;
  // Required for TCP addresses other than loopback.
  std::optional<TlsFiles> tls;
  int threads = 3;
  // Larger bodies are refused with 413; image loads and archive uploads will
  // need streaming bodies instead.
  size_t body_limit = 64 << 20;
};

using RequestHandler = std::function<HttpResponse(RawRequest)>;

class HttpServer {
 public:
  HttpServer(ServerOptions options, RequestHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds every address (failing on the first that cannot be served) and
  // starts the worker threads.
  absl::Status Start();
  // Stops accepting, removes the unix socket files, ends hijacked and
  // streaming connections and joins the threads. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::engined
