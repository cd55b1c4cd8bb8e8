#include "shim/ttrpc_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/errors.h"
#include "common/log.h"
#include "common/unix_socket.h"

namespace gantry::shim {

// One client connection: reads frames, dispatches requests, and queues
// replies when the socket cannot take them at once.
class TtrpcConnection : public std::enable_shared_from_this<TtrpcConnection> {
 public:
  TtrpcConnection(TtrpcServer& server, UniqueFd fd) : server_(server), fd_(std::move(fd)) {}

  absl::Status Register() {
    std::weak_ptr<TtrpcConnection> self = shared_from_this();
    return server_.loop_.Add(fd_.get(), EPOLLIN, [self](uint32_t events) {
      if (auto connection = self.lock()) connection->OnEvents(events);
    });
  }

  // Stops watching and closes the socket; pending replies are dropped.
  void Close() {
    if (!fd_) return;
    server_.loop_.Remove(fd_.get());
    fd_.Reset();
    server_.connections_.erase(shared_from_this());
  }

  void Send(uint32_t stream_id, const std::string& response) {
    pending_ += ttrpc::EncodeFrame(stream_id, ttrpc::FrameType::kResponse, response);
    Flush();
  }

 private:
  void OnEvents(uint32_t events) {
    if (events & EPOLLOUT) Flush();
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) Read();
  }

  void Read() {
    char buffer[16384];
    const ssize_t n = ::read(fd_.get(), buffer, sizeof(buffer));
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return Close();
    decoder_.Append(buffer, static_cast<size_t>(n));
    // Keep this connection alive while its own handlers run.
    std::shared_ptr<TtrpcConnection> self = shared_from_this();
    while (true) {
      absl::StatusOr<std::optional<ttrpc::Frame>> frame = decoder_.Next();
      if (!frame.ok()) {
        log::Warning("contd-shim: ", frame.status().message(), "; closing the connection");
        return Close();
      }
      if (!frame->has_value()) return;
      if ((*frame)->type != ttrpc::FrameType::kRequest) continue;
      ttrpc::Request request;
      Responder responder(weak_from_this(), (*frame)->stream_id);
      if (!request.ParseFromString((*frame)->payload)) {
        responder.Reply(absl::InvalidArgumentError("ttrpc: malformed request"));
        continue;
      }
      server_.dispatcher_(request, std::move(responder));
      if (!fd_) return;  // closed by a handler
    }
  }

  void Flush() {
    while (!pending_.empty()) {
      const ssize_t n = ::send(fd_.get(), pending_.data(), pending_.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n < 0) return Close();
      pending_.erase(0, static_cast<size_t>(n));
    }
    server_.loop_.Modify(fd_.get(), pending_.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT).IgnoreError();
  }

  TtrpcServer& server_;
  UniqueFd fd_;
  ttrpc::FrameDecoder decoder_;
  std::string pending_;
};

void Responder::Reply(const absl::StatusOr<std::string>& payload) const {
  std::shared_ptr<TtrpcConnection> connection = connection_.lock();
  if (!connection) return;
  ttrpc::Response response;
  if (payload.ok()) {
    response.set_payload(*payload);
  } else {
    *response.mutable_status() = ttrpc::StatusToProto(payload.status());
  }
  connection->Send(stream_id_, response.SerializeAsString());
}

absl::StatusOr<std::unique_ptr<TtrpcServer>> TtrpcServer::Listen(EventLoop& loop,
                                                                 const std::string& socket_path,
                                                                 Dispatcher dispatcher) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd listener, ListenUnixSocket(socket_path, 0600));
  // Non-blocking: a client that connects and leaves must not stall accept.
  if (::fcntl(listener.get(), F_SETFL, O_NONBLOCK) != 0) return LastErrno("fcntl O_NONBLOCK");
  std::unique_ptr<TtrpcServer> server(
      new TtrpcServer(loop, std::move(listener), std::move(dispatcher)));
  TtrpcServer* raw = server.get();
  GANTRY_RETURN_IF_ERROR(
      loop.Add(raw->listener_.get(), EPOLLIN, [raw](uint32_t) { raw->Accept(); }));
  return server;
}

TtrpcServer::~TtrpcServer() {
  StopListening();
  for (const auto& connection : std::set(connections_)) connection->Close();
}

void TtrpcServer::StopListening() {
  if (!listener_) return;
  loop_.Remove(listener_.get());
  listener_.Reset();
}

void TtrpcServer::Accept() {
  UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd) return;  // EAGAIN or a client that already left
  auto connection = std::make_shared<TtrpcConnection>(*this, std::move(fd));
  if (absl::Status registered = connection->Register(); !registered.ok()) {
    log::Warning("contd-shim: ", registered.message());
    return;
  }
  connections_.insert(std::move(connection));
}

}  // namespace gantry::shim
