#include "engined/network/port_proxy.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <future>
#include <map>
#include <set>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "absl/strings/str_cat.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/unique_fd.h"

namespace gantry::engined::network {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using Strand = asio::strand<asio::io_context::executor_type>;
using ErrorCode = boost::system::error_code;

// What PortProxy holds of a TCP or UDP proxy; everything runs on strand().
class ProxyListener {
 public:
  virtual ~ProxyListener() = default;
  virtual Strand& strand() = 0;
  // Closes every socket; handlers still queued see operation_aborted.
  virtual void Close() = 0;
};

namespace {

template <typename Endpoint>
Endpoint MakeEndpoint(Ipv4Address address, uint16_t port) {
  return Endpoint(asio::ip::address_v4(address.value()), port);
}

// A CLOEXEC, non-blocking socket (Asio's own sockets lack CLOEXEC).
absl::StatusOr<UniqueFd> NewSocket(int type, absl::string_view what) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return LastErrno(absl::StrCat(what, ": socket"));
  return fd;
}

// Binds a listening socket; `what` names it in errors.
absl::StatusOr<UniqueFd> BindSocket(int type, Ipv4Address ip, uint16_t port,
                                    absl::string_view what) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, NewSocket(type, what));
  const int one = 1;
  if (type == SOCK_STREAM && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) {
    return LastErrno(absl::StrCat(what, ": SO_REUSEADDR"));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = ip.network_order();
  addr.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return LastErrno(absl::StrCat(what, ": bind"));
  }
  if (type == SOCK_STREAM && ::listen(fd.get(), SOMAXCONN) != 0) {
    return LastErrno(absl::StrCat(what, ": listen"));
  }
  return fd;
}

absl::StatusOr<uint16_t> BoundPort(int fd, absl::string_view what) {
  sockaddr_in addr{};
  socklen_t size = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    return LastErrno(absl::StrCat(what, ": getsockname"));
  }
  return ntohs(addr.sin_port);
}

// ---- TCP ----

class TcpProxy;

// One client connection and its connection to the container.
class TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(Strand& strand, std::weak_ptr<TcpProxy> proxy)
      : client_(strand), upstream_(strand), proxy_(std::move(proxy)) {}

  void Start(UniqueFd client_fd, const tcp::endpoint& target);
  void Close();

 private:
  struct Direction {
    tcp::socket* from;
    tcp::socket* to;
    std::array<char, 64 * 1024> buffer;
    bool ended = false;
  };
  void Pump(Direction& d);

  tcp::socket client_;
  tcp::socket upstream_;
  Direction to_container_{&client_, &upstream_, {}};
  Direction to_client_{&upstream_, &client_, {}};
  std::weak_ptr<TcpProxy> proxy_;
  bool closed_ = false;
};

class TcpProxy : public ProxyListener, public std::enable_shared_from_this<TcpProxy> {
 public:
  TcpProxy(asio::io_context& io, UniqueFd fd, const tcp::endpoint& target, std::string name)
      : strand_(asio::make_strand(io)),
        acceptor_(strand_),
        target_(target),
        name_(std::move(name)) {
    acceptor_.assign(tcp::v4(), fd.Release());
  }
  Strand& strand() override { return strand_; }
  void AcceptNext();
  void Forget(const std::shared_ptr<TcpSession>& session) { sessions_.erase(session); }
  void Close() override {
    closed_ = true;
    ErrorCode ignored;
    acceptor_.close(ignored);
    auto sessions = std::move(sessions_);
    for (const auto& session : sessions) session->Close();
  }

 private:
  Strand strand_;
  tcp::acceptor acceptor_;
  tcp::endpoint target_;
  std::string name_;
  std::set<std::shared_ptr<TcpSession>> sessions_;
  bool closed_ = false;
};

void TcpProxy::AcceptNext() {
  // Waits for readiness and accepts with accept4 so that the new fd is
  // CLOEXEC from the start.
  acceptor_.async_wait(tcp::acceptor::wait_read, [self = shared_from_this()](ErrorCode ec) {
    if (ec || self->closed_) return;
    UniqueFd fd(
        ::accept4(self->acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (fd) {
      auto session = std::make_shared<TcpSession>(self->strand_, self);
      self->sessions_.insert(session);
      session->Start(std::move(fd), self->target_);
    } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
      log::Warning(LastErrno(absl::StrCat(self->name_, ": accept")).message());
    }
    self->AcceptNext();
  });
}

void TcpSession::Start(UniqueFd client_fd, const tcp::endpoint& target) {
  client_.assign(tcp::v4(), client_fd.Release());
  absl::StatusOr<UniqueFd> upstream_fd = NewSocket(SOCK_STREAM, "port proxy");
  if (!upstream_fd.ok()) {
    log::Warning(upstream_fd.status().message());
    Close();
    return;
  }
  upstream_.assign(tcp::v4(), upstream_fd->Release());
  upstream_.async_connect(target, [self = shared_from_this()](ErrorCode ec) {
    if (ec) {
      self->Close();
      return;
    }
    self->Pump(self->to_container_);
    self->Pump(self->to_client_);
  });
}

void TcpSession::Pump(Direction& d) {
  d.from->async_read_some(asio::buffer(d.buffer),
                          [self = shared_from_this(), &d](ErrorCode ec, size_t n) {
                            if (ec == asio::error::eof) {
                              // Half-close: pass the EOF on and keep the other direction going.
                              d.ended = true;
                              ErrorCode ignored;
                              d.to->shutdown(tcp::socket::shutdown_send, ignored);
                              if (self->to_container_.ended && self->to_client_.ended)
                                self->Close();
                              return;
                            }
                            if (ec) {
                              self->Close();
                              return;
                            }
                            asio::async_write(*d.to, asio::buffer(d.buffer.data(), n),
                                              [self, &d](ErrorCode write_ec, size_t) {
                                                if (write_ec) {
                                                  self->Close();
                                                  return;
                                                }
                                                self->Pump(d);
                                              });
                          });
}

void TcpSession::Close() {
  if (closed_) return;
  closed_ = true;
  ErrorCode ignored;
  client_.close(ignored);
  upstream_.close(ignored);
  if (auto proxy = proxy_.lock()) proxy->Forget(shared_from_this());
}

// ---- UDP ----

class UdpProxy;

// One client address's traffic: a socket connected to the container.
class UdpFlow : public std::enable_shared_from_this<UdpFlow> {
 public:
  UdpFlow(Strand& strand, std::weak_ptr<UdpProxy> proxy, udp::endpoint client)
      : upstream_(strand), timer_(strand), proxy_(std::move(proxy)), client_(client) {}

  absl::Status Open(const udp::endpoint& target);
  void Send(const char* data, size_t size);
  // Closes the socket (the proxy closing all flows).
  void Close();
  // Closes and leaves the proxy's table: the client's next datagram starts
  // a new flow.
  void End();

 private:
  void ReceiveNext();
  void WatchIdle();

  udp::socket upstream_;
  asio::steady_timer timer_;
  std::weak_ptr<UdpProxy> proxy_;
  udp::endpoint client_;
  std::array<char, 64 * 1024> buffer_{};
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
  bool closed_ = false;
};

class UdpProxy : public ProxyListener, public std::enable_shared_from_this<UdpProxy> {
 public:
  UdpProxy(asio::io_context& io, UniqueFd fd, const udp::endpoint& target,
           std::chrono::milliseconds idle_timeout, std::string name)
      : strand_(asio::make_strand(io)),
        socket_(strand_),
        target_(target),
        idle_timeout_(idle_timeout),
        name_(std::move(name)) {
    socket_.assign(udp::v4(), fd.Release());
  }
  Strand& strand() override { return strand_; }
  void ReceiveNext();
  void Reply(const udp::endpoint& client, const char* data, size_t size) {
    ErrorCode ignored;  // a datagram that cannot be sent is dropped, as the network would
    socket_.send_to(asio::buffer(data, size), client, 0, ignored);
  }
  void Forget(const udp::endpoint& client) { flows_.erase(client); }
  std::chrono::milliseconds idle_timeout() const { return idle_timeout_; }
  void Close() override {
    closed_ = true;
    ErrorCode ignored;
    socket_.close(ignored);
    auto flows = std::move(flows_);
    for (auto& [client, flow] : flows) flow->Close();
  }

 private:
  Strand strand_;
  udp::socket socket_;
  udp::endpoint target_;
  std::chrono::milliseconds idle_timeout_;
  std::string name_;
  std::map<udp::endpoint, std::shared_ptr<UdpFlow>> flows_;
  std::array<char, 64 * 1024> buffer_{};
  udp::endpoint sender_;
  bool closed_ = false;
};

void UdpProxy::ReceiveNext() {
  socket_.async_receive_from(
      asio::buffer(buffer_), sender_, [self = shared_from_this()](ErrorCode ec, size_t n) {
        if (self->closed_ || ec == asio::error::operation_aborted) return;
        if (!ec) {
          auto& flow = self->flows_[self->sender_];
          if (!flow) {
            flow = std::make_shared<UdpFlow>(self->strand_, self, self->sender_);
            if (absl::Status status = flow->Open(self->target_); !status.ok()) {
              log::Warning(self->name_, ": ", status.message());
              self->flows_.erase(self->sender_);
            }
          }
          if (auto it = self->flows_.find(self->sender_); it != self->flows_.end()) {
            it->second->Send(self->buffer_.data(), n);
          }
        }
        self->ReceiveNext();
      });
}

absl::Status UdpFlow::Open(const udp::endpoint& target) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, NewSocket(SOCK_DGRAM, "port proxy flow"));
  upstream_.assign(udp::v4(), fd.Release());
  ErrorCode ec;
  upstream_.connect(target, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("port proxy flow: connect: ", ec.message()));
  ReceiveNext();
  WatchIdle();
  return absl::OkStatus();
}

void UdpFlow::Send(const char* data, size_t size) {
  last_activity_ = std::chrono::steady_clock::now();
  ErrorCode ignored;
  upstream_.send(asio::buffer(data, size), 0, ignored);
}

void UdpFlow::ReceiveNext() {
  upstream_.async_receive(asio::buffer(buffer_),
                          [self = shared_from_this()](ErrorCode ec, size_t n) {
                            if (self->closed_) return;
                            // ECONNREFUSED: nothing listens in the container (yet); keep the flow.
                            if (ec && ec != asio::error::connection_refused) {
                              self->End();
                              return;
                            }
                            if (!ec) {
                              self->last_activity_ = std::chrono::steady_clock::now();
                              if (auto proxy = self->proxy_.lock())
                                proxy->Reply(self->client_, self->buffer_.data(), n);
                            }
                            self->ReceiveNext();
                          });
}

void UdpFlow::WatchIdle() {
  auto proxy = proxy_.lock();
  if (!proxy) return;
  timer_.expires_at(last_activity_ + proxy->idle_timeout());
  timer_.async_wait([self = shared_from_this()](ErrorCode ec) {
    if (ec || self->closed_) return;
    auto proxy = self->proxy_.lock();
    if (!proxy) return;
    if (std::chrono::steady_clock::now() >= self->last_activity_ + proxy->idle_timeout()) {
      self->End();
      return;
    }
    self->WatchIdle();
  });
}

void UdpFlow::End() {
  if (auto proxy = proxy_.lock()) proxy->Forget(client_);
  Close();
}

void UdpFlow::Close() {
  if (closed_) return;
  closed_ = true;
  ErrorCode ignored;
  timer_.cancel();
  upstream_.close(ignored);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PortProxy>> PortProxy::Start(asio::io_context& io,
                                                            const PortProxySpec& spec) {
  const std::string name =
      absl::StrCat("port proxy ", spec.protocol, " ", spec.host_ip.ToString(), ":", spec.host_port,
                   " -> ", spec.container_ip.ToString(), ":", spec.container_port);
  std::shared_ptr<ProxyListener> listener;
  uint16_t port = 0;
  if (spec.protocol == "tcp") {
    GANTRY_ASSIGN_OR_RETURN(UniqueFd fd,
                            BindSocket(SOCK_STREAM, spec.host_ip, spec.host_port, name));
    GANTRY_ASSIGN_OR_RETURN(port, BoundPort(fd.get(), name));
    auto proxy = std::make_shared<TcpProxy>(
        io, std::move(fd), MakeEndpoint<tcp::endpoint>(spec.container_ip, spec.container_port),
        name);
    listener = proxy;
    asio::dispatch(proxy->strand(), [proxy] { proxy->AcceptNext(); });
  } else if (spec.protocol == "udp") {
    GANTRY_ASSIGN_OR_RETURN(UniqueFd fd,
                            BindSocket(SOCK_DGRAM, spec.host_ip, spec.host_port, name));
    GANTRY_ASSIGN_OR_RETURN(port, BoundPort(fd.get(), name));
    auto proxy = std::make_shared<UdpProxy>(
        io, std::move(fd), MakeEndpoint<udp::endpoint>(spec.container_ip, spec.container_port),
        spec.udp_idle_timeout, name);
    listener = proxy;
    asio::dispatch(proxy->strand(), [proxy] { proxy->ReceiveNext(); });
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": protocol \"", spec.protocol, "\": expected tcp or udp"));
  }
  return std::unique_ptr<PortProxy>(new PortProxy(io, std::move(listener), port));
}

PortProxy::~PortProxy() { Stop(); }

void PortProxy::Stop() {
  if (!listener_) return;
  std::shared_ptr<ProxyListener> listener = std::move(listener_);
  if (listener->strand().running_in_this_thread() || io_.stopped()) {
    listener->Close();
    return;
  }
  std::promise<void> closed;
  asio::dispatch(listener->strand(), [&] {
    listener->Close();
    closed.set_value();
  });
  closed.get_future().wait();
}

}  // namespace gantry::engined::network
