// Links, addresses and routes over rtnetlink (libnl-route-3), for bridge
// networking: no `ip` commands. A Netlink talks to the network namespace the
// creating thread was in when Open ran (see RunInNetworkNamespace), whichever
// thread uses it afterwards. Not thread-safe: one user at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engined/network/ipv4.h"

struct nl_sock;

namespace gantry::engined::network {

// The MAC Docker derives from an endpoint's address: 02:42 then the four
// address bytes (172.17.0.2 -> 02:42:ac:11:00:02).
std::string MacAddressFor(Ipv4Address address);

class Netlink {
 public:
  static absl::StatusOr<Netlink> Open();

  // Links. Creating one that exists is ALREADY_EXISTS; acting on one that
  // does not is NOT_FOUND. Names are at most 15 bytes (IFNAMSIZ - 1).
  absl::Status CreateBridge(const std::string& name, int mtu);
  // Both ends stay in this namespace, down; move one with MoveToNamespace.
  absl::Status CreateVethPair(const std::string& name, const std::string& peer_name, int mtu);
  // A macvlan link on `parent` in bridge mode (its siblings on the same
  // parent reach each other), down; move it with MoveToNamespace.
  absl::Status CreateMacvlan(const std::string& name, const std::string& parent, int mtu);
  // Deletes a link (a veth takes its peer with it); a missing one is fine.
  absl::Status DeleteLink(const std::string& name);
  absl::StatusOr<bool> LinkExists(const std::string& name);
  absl::StatusOr<std::vector<std::string>> LinkNames();

  // `netns_fd` from OpenNetworkNamespace; the link leaves this namespace.
  absl::Status MoveToNamespace(const std::string& name, int netns_fd);
  absl::Status Rename(const std::string& name, const std::string& new_name);
  // "02:42:ac:11:00:02"
  absl::Status SetMacAddress(const std::string& name, const std::string& mac);
  absl::Status SetMtu(const std::string& name, int mtu);
  absl::Status SetUp(const std::string& name);
  absl::Status SetDown(const std::string& name);
  // Makes `name` a port of the bridge `bridge`.
  absl::Status AttachToBridge(const std::string& name, const std::string& bridge);

  // Adds "10.0.0.1/24" (with its subnet's broadcast address) to the link.
  absl::Status AddAddress(const std::string& name, Ipv4InterfaceAddress address);
  absl::Status AddDefaultRoute(Ipv4Address gateway);
  // Destinations of the main table's IPv4 routes (0.0.0.0/0 for a default).
  absl::StatusOr<std::vector<Ipv4Prefix>> Ipv4Routes();

 private:
  struct SocketDeleter {
    void operator()(nl_sock* sock) const;
  };
  explicit Netlink(std::unique_ptr<nl_sock, SocketDeleter> sock) : sock_(std::move(sock)) {}

  std::unique_ptr<nl_sock, SocketDeleter> sock_;
};

}  // namespace gantry::engined::network
