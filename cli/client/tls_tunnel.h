// TLS to engined's tcp:// address (mutual TLS, as dockerd's --tlsverify):
// the handshake is made here, and a thread then carries the bytes between
// the TLS connection and one end of a socketpair, so the HTTP client,
// hijacked streams and half-closes work on a plain descriptor.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace gantry::cli {

struct TlsOptions {
  std::string ca_cert;      // verify engined's certificate with this CA (empty: no check)
  std::string client_cert;  // our certificate and key, when engined asks for one
  std::string client_key;
};

// Shakes hands over the connected `tcp` socket (the server named
// `server_name` for SNI and the certificate check); the plain end of the
// tunnel.
absl::StatusOr<UniqueFd> OpenTlsTunnel(UniqueFd tcp, const std::string& server_name,
                                       const TlsOptions& options);

}  // namespace gantry::cli
