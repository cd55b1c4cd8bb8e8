// Serves ttrpc (common/ttrpc.h) on a unix socket from the shim's event loop.
// Calls are dispatched as they arrive; a handler may answer later (Wait and
// Events answer when something happens) by keeping its Responder.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "common/ttrpc.h"
#include "common/unique_fd.h"
#include "shim/event_loop.h"

namespace gantry::shim {

class TtrpcConnection;

// Where the answer to one call goes. Answering after the client has gone is
// harmless: the reply is dropped.
class Responder {
 public:
  Responder(std::weak_ptr<TtrpcConnection> connection, uint32_t stream_id)
      : connection_(std::move(connection)), stream_id_(stream_id) {}

  // Sends the serialized response message, or the error.
  void Reply(const absl::StatusOr<std::string>& payload) const;
  // Whether the client is still connected (a waiting call may be dropped).
  bool connected() const { return !connection_.expired(); }

 private:
  std::weak_ptr<TtrpcConnection> connection_;
  uint32_t stream_id_;
};

using Dispatcher = std::function<void(const ttrpc::Request& request, Responder responder)>;

class TtrpcServer {
 public:
  // Listens on `socket_path` (mode 0600: only contd, as root, may call).
  static absl::StatusOr<std::unique_ptr<TtrpcServer>> Listen(EventLoop& loop,
                                                             const std::string& socket_path,
                                                             Dispatcher dispatcher);
  ~TtrpcServer();

  // Stops accepting; connections stay until their clients close them.
  void StopListening();

 private:
  TtrpcServer(EventLoop& loop, UniqueFd listener, Dispatcher dispatcher)
      : loop_(loop), listener_(std::move(listener)), dispatcher_(std::move(dispatcher)) {}
  void Accept();

  friend class TtrpcConnection;
  EventLoop& loop_;
  UniqueFd listener_;
  Dispatcher dispatcher_;
  std::set<std::shared_ptr<TtrpcConnection>> connections_;
};

}  // namespace gantry::shim
