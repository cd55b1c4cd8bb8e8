#include "cli/client/tls_tunnel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <thread>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslDeleter>;

std::string SslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  return absl::StrCat(what, ": ", text);
}

// Waits until `fd` is ready for what the last SSL call wanted.
bool WaitFor(SSL* ssl, int result, int fd) {
  const int error = SSL_get_error(ssl, result);
  if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) return false;
  struct pollfd p = {fd, short(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
  return ::poll(&p, 1, -1) >= 0;
}

bool SslWriteAll(SSL* ssl, int tcp, const char* data, size_t size) {
  while (size > 0) {
    int n = SSL_write(ssl, data, int(size));
    if (n > 0) {
      data += n;
      size -= size_t(n);
    } else if (!WaitFor(ssl, n, tcp)) {
      return false;
    }
  }
  return true;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= size_t(n);
  }
  return true;
}

// Carries bytes both ways until both directions have ended.
void Pump(SslPtr ssl, UniqueFd tcp, UniqueFd local) {
  char buffer[16 * 1024];
  bool local_open = true;   // we still read from the client side
  bool remote_open = true;  // we still read from engined
  while (local_open || remote_open) {
    struct pollfd fds[2] = {{local.get(), short(local_open ? POLLIN : 0), 0},
                            {tcp.get(), short(remote_open ? POLLIN : 0), 0}};
    if (SSL_pending(ssl.get()) == 0 && ::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (local_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = ::read(local.get(), buffer, sizeof buffer);
      if (n > 0) {
        if (!SslWriteAll(ssl.get(), tcp.get(), buffer, size_t(n))) return;
      } else if (n == 0 || errno != EINTR) {
        // The client half-closed: engined reads the end of the stream.
        local_open = false;
        SSL_shutdown(ssl.get());
        if (!remote_open) return;
      }
    }
    if (remote_open &&
        (SSL_pending(ssl.get()) > 0 || (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))) {
      int n = SSL_read(ssl.get(), buffer, sizeof buffer);
      if (n > 0) {
        if (!WriteAll(local.get(), buffer, size_t(n))) return;
      } else {
        const int error = SSL_get_error(ssl.get(), n);
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
          remote_open = false;
          ::shutdown(local.get(), SHUT_WR);
          if (!local_open) return;
        }
      }
    }
  }
}

}  // namespace

absl::StatusOr<UniqueFd> OpenTlsTunnel(UniqueFd tcp, const std::string& server_name,
                                       const TlsOptions& options) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return absl::InternalError(SslError("TLS context"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!options.ca_cert.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), options.ca_cert.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(SslError(absl::StrCat("CA certificate ", options.ca_cert)));
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (!options.client_cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.client_cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), options.client_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return absl::InvalidArgumentError(
          SslError(absl::StrCat("client certificate ", options.client_cert)));
    }
  }
  SslPtr ssl(SSL_new(ctx.get()));
  if (!ssl) return absl::InternalError(SslError("TLS connection"));
  SSL_set_fd(ssl.get(), tcp.get());
  // The name is checked against the certificate: an IP address as one.
  struct in6_addr address;
  if (::inet_pton(AF_INET, server_name.c_str(), &address) == 1 ||
      ::inet_pton(AF_INET6, server_name.c_str(), &address) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), server_name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), server_name.c_str());
    SSL_set1_host(ssl.get(), server_name.c_str());
  }
  if (SSL_connect(ssl.get()) != 1) {
    return absl::UnavailableError(SslError(absl::StrCat("TLS handshake with ", server_name)));
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return LastErrno("socketpair for the TLS tunnel");
  }
  UniqueFd ours(pair[0]);
  UniqueFd theirs(pair[1]);
  ::fcntl(tcp.get(), F_SETFL, ::fcntl(tcp.get(), F_GETFL) | O_NONBLOCK);
  // The thread owns the TLS connection; it ends when both sides have.
  std::thread(Pump, std::move(ssl), std::move(tcp), std::move(theirs)).detach();
  return ours;
}

}  // namespace gantry::cli
