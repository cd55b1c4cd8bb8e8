// NAT and filtering for bridge networks in nftables (libnftables), in
// Gantry's own table `ip gantry` only: other tables (Docker's, iptables',
// the host's) are never read or changed. Every rule but the table's fixed
// skeleton carries a comment tag (a network id, a container id ...) and is
// deleted by that tag.
//
//   nat prerouting  (dstnat)  fib daddr type local -> port-mappings
//   nat output      (dstnat)  ip daddr != 127.0.0.0/8 fib daddr type local -> port-mappings
//   nat postrouting (srcnat)  per network: masquerade of its subnet leaving by another link
//   port-mappings             per published port: dnat to container ip:port
//   filter forward  (filter)  -> isolation-stage-1; per network: accepts, or drops if internal
//   isolation-stage-1/2       as Docker's DOCKER-ISOLATION-STAGE-1/2: no traffic
//                             between two different gantry bridges
//
// A Firewall acts on the network namespace its Open ran in (libnftables
// opens its netlink socket there); it serializes its callers.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engined/network/ipv4.h"

struct nft_ctx;

namespace gantry::engined::network {

struct BridgeNetworkRules {
  std::string tag;  // letters, digits and "_.:-"; at most 100 bytes
  std::string bridge;
  Ipv4Prefix subnet;
  // No traffic between the bridge and anything else (docker network create
  // --internal); no masquerade.
  bool internal = false;
};

struct PortMappingRule {
  std::string tag;
  std::string protocol;                // "tcp" or "udp"
  std::optional<Ipv4Address> host_ip;  // every local address when absent
  uint16_t host_port = 0;
  Ipv4Address container_ip;
  uint16_t container_port = 0;
  // The container's bridge: traffic arriving from it is not translated (the
  // userland proxy serves containers reaching a published port), as Docker
  // does with its userland proxy on. Empty: no such exception.
  std::string bridge;
};

class Firewall {
 public:
  static absl::StatusOr<std::unique_ptr<Firewall>> Open();
  Firewall(const Firewall&) = delete;
  Firewall& operator=(const Firewall&) = delete;
  ~Firewall();

  // Creates the table, chains and skeleton rules that are missing; calling
  // it again changes nothing.
  absl::Status EnsureTable();
  // Deletes the whole gantry table (engined's startup reconcile, before
  // re-adding the rules of what still exists). No table is fine.
  absl::Status Reset();

  absl::Status AddNetwork(const BridgeNetworkRules& rules);
  absl::Status AddPortMapping(const PortMappingRule& rule);
  // Deletes every rule tagged `tag`, all in one transaction; none is fine.
  absl::Status DeleteRulesTagged(absl::string_view tag);

  // `nft list table ip gantry` output, "" when there is no table.
  absl::StatusOr<std::string> Listing();

 private:
  explicit Firewall(nft_ctx* ctx) : ctx_(ctx) {}
  // Runs nft commands; returns what nft printed. JSON output when `json`.
  absl::StatusOr<std::string> Run(absl::string_view commands, bool json = false);
  absl::StatusOr<bool> TableExists();

  // Held by operations that list then change, so that none interleave.
  std::mutex operation_mu_;
  // Held around each use of ctx_.
  std::mutex mu_;
  nft_ctx* ctx_;
};

// Sets net.ipv4.ip_forward=1 in the calling thread's network namespace, as
// bridge networking needs (Docker does the same at start).
absl::Status EnableIpv4Forwarding();

}  // namespace gantry::engined::network
