// Debian's docker-registry run privately for the registry client tests: on
// 127.0.0.1 and a free port, storage in the test's temporary directory,
// optionally with TLS and htpasswd basic auth. Stopped (SIGKILL and reaped)
// when the object goes away, passing or failing.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace registry_test {

// A TCP port on 127.0.0.1 that nothing listens on (for a test's server).
int FreePort();
// Whether something accepts connections on 127.0.0.1:`port`.
bool Listening(int port);

struct RegistryConfig {
  std::string tls_cert;  // PEM files; both empty: plain HTTP
  std::string tls_key;
  std::string htpasswd;   // bcrypt htpasswd file; empty: no auth
  std::string client_ca;  // with TLS: client certificates signed by it required
};

class TestRegistry {
 public:
  // Starts it in `dir` (config, storage, log) and waits until it listens.
  TestRegistry(std::string dir, RegistryConfig config = {});
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;
  ~TestRegistry() { Kill(); }

  // "127.0.0.1:PORT"
  std::string domain() const;
  // The filesystem driver's root (docker/registry/v2/... below it).
  std::string storage() const { return dir_ + "/storage"; }
  // Path of a blob's bytes in the storage.
  std::string BlobPath(const std::string& digest) const;

  void Kill();
  // Starts again on the same port and storage.
  void Restart();

 private:
  void Start();
  std::string dir_;
  RegistryConfig config_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// `skopeo copy` of the fixture OCI archive to docker://DOMAIN/REPO, with
// extra skopeo flags (credentials, certificates).
void PushFixture(const std::string& domain, const std::string& repo,
                 const std::vector<std::string>& extra_flags = {});

// A CA, a server certificate for 127.0.0.1 and a client certificate made by
// the openssl CLI in `dir`: ca.crt, server.crt, server.key, client.cert,
// client.key.
void MakeTestCertificates(const std::string& dir);

// An htpasswd file with one bcrypt entry (libcrypt's $2b$).
void WriteHtpasswd(const std::string& path, const std::string& user, const std::string& password);

}  // namespace registry_test
