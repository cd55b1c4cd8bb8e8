// Per-registry transport settings, as Docker has them: which registries are
// insecure (plain HTTP or unverified TLS allowed; 127.0.0.0/8 by default),
// and extra CAs and client certificates from certs.d/HOST[:PORT]/.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "contd/registry/http_client.h"
#include "contd/registry/url.h"

namespace gantry::registry {

struct RegistryHostsConfig {
  // Docker's /etc/docker/certs.d layout: HOST[:PORT]/{*.crt, *.cert, *.key}.
  std::string certs_dir = "/etc/docker/certs.d";
  // CIDRs ("10.0.0.0/8") or registry domains ("myhost:5000").
  std::vector<std::string> insecure_registries = {"127.0.0.0/8"};
};

// How to reach a registry: one of the base URLs to try, in order. Whether
// its certificate is verified is TlsFor()'s answer.
struct RegistryEndpoint {
  Url base;  // scheme://host:port/
};

class RegistryHosts {
 public:
  static absl::StatusOr<RegistryHosts> Create(RegistryHostsConfig config);

  // Whether `domain` ("host[:port]") is insecure by the list.
  bool IsInsecure(absl::string_view domain) const;
  // https first; an insecure registry may also answer https unverified, then
  // plain http (Docker's order).
  std::vector<RegistryEndpoint> Endpoints(absl::string_view domain) const;
  // TLS settings for a connection to `url` (CAs and client certificates from
  // certs.d; unverified when the host is insecure).
  TlsOptions TlsFor(const Url& url) const;

 private:
  struct Cidr {
    uint32_t network;
    uint32_t mask;
  };
  explicit RegistryHosts(RegistryHostsConfig config) : config_(std::move(config)) {}
  RegistryHostsConfig config_;
  std::vector<Cidr> cidrs_;
  std::vector<std::string> domains_;
};

}  // namespace gantry::registry
