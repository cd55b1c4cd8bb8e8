// A userland proxy for a published port, as docker-proxy is, but inside
// engined: it listens on host_ip:host_port and relays to the container's
// address, for clients that DNAT cannot serve (connections to loopback, a
// container reaching its own published port).
//
// TCP: each accepted connection is spliced both ways to a new connection to
// the container; a half-close (EOF) on one side is passed on as shutdown
// (SHUT_WR) to the other, and the pair closes when both directions ended or
// either fails. UDP: one flow (a connected socket to the container) per
// client address, ended after `udp_idle_timeout` without traffic.
//
// Threading: the proxy runs on the caller's io_context (any number of
// threads may run it; a proxy's handlers are serialized on a strand). Its
// sockets toward the container are opened on those threads, so they must
// run in the network namespace that reaches the container. Every fd is
// opened with CLOEXEC.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "absl/status/statusor.h"
#include "engined/network/ipv4.h"

namespace gantry::engined::network {

struct PortProxySpec {
  std::string protocol;    // "tcp" or "udp"
  Ipv4Address host_ip;     // 0.0.0.0 for every address
  uint16_t host_port = 0;  // 0: an ephemeral port, see PortProxy::host_port
  Ipv4Address container_ip;
  uint16_t container_port = 0;
  std::chrono::milliseconds udp_idle_timeout = std::chrono::seconds(90);
};

class ProxyListener;

class PortProxy {
 public:
  // Binds the listening socket now (so EADDRINUSE is reported here) and
  // serves on `io` from then on.
  static absl::StatusOr<std::unique_ptr<PortProxy>> Start(boost::asio::io_context& io,
                                                          const PortProxySpec& spec);
  PortProxy(const PortProxy&) = delete;
  PortProxy& operator=(const PortProxy&) = delete;
  ~PortProxy();

  // The bound port (the one the kernel chose when the spec asked for 0).
  uint16_t host_port() const { return host_port_; }

  // Closes the listener and every connection or flow, and returns once they
  // are closed. It hands the closing to the io_context and waits, so the
  // io_context must be running on some other thread (or be stopped); from
  // this proxy's own handlers it closes directly. Idempotent; the destructor
  // calls it.
  void Stop();

 private:
  PortProxy(boost::asio::io_context& io, std::shared_ptr<ProxyListener> listener, uint16_t port)
      : io_(io), listener_(std::move(listener)), host_port_(port) {}

  boost::asio::io_context& io_;
  std::shared_ptr<ProxyListener> listener_;
  uint16_t host_port_;
};

}  // namespace gantry::engined::network
