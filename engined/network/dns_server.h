// The embedded DNS server of containers on user-defined networks, as
// dockerd's: it answers at 127.0.0.11:53 inside the container's network
// namespace (a UDP socket engined opens there; no process in the container),
// with the addresses of the containers on the same networks by name, alias
// or short ID, and forwards every other question to the host's resolvers.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "engined/network/ipv4.h"

namespace gantry::engined::network {

// The address of `name` (lower-case, no trailing dot) for the container the
// server belongs to, if it is one of its peers.
using DnsLookup = std::function<std::optional<Ipv4Address>(const std::string& name)>;

// The parts of a DNS query the server reads, and the reply it builds; in the
// open so they can be tested without sockets.
struct DnsQuestion {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::string name;  // lower-case, without the trailing dot
  uint16_t type = 0;
  uint16_t klass = 0;
  size_t question_end = 0;  // offset after the question
};
constexpr uint16_t kDnsTypeA = 1;
constexpr uint16_t kDnsTypeAaaa = 28;
// INVALID_ARGUMENT for a message that is no single-question query.
absl::StatusOr<DnsQuestion> ParseDnsQuestion(const std::string& message);
// The answer to `query` (whose question was parsed as `question`): one A
// record when `address` is given, else no record (NOERROR).
std::string DnsAnswer(const std::string& query, const DnsQuestion& question,
                      std::optional<Ipv4Address> address);

class DnsServer {
 public:
  // Serves on `socket` (a UDP socket opened in the container's namespace,
  // bound here to 127.0.0.11:53) on `io`'s threads; questions it cannot
  // answer go to `upstreams` (host resolvers, port 53).
  static absl::StatusOr<std::unique_ptr<DnsServer>> Start(boost::asio::io_context& io,
                                                          UniqueFd socket, DnsLookup lookup,
                                                          std::vector<Ipv4Address> upstreams);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

 private:
  struct State;
  explicit DnsServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

// The nameservers of the host's resolv.conf (`path`).
std::vector<Ipv4Address> HostNameservers(const std::string& path = "/etc/resolv.conf");

}  // namespace gantry::engined::network
