#include "tests/integration/registry_test_util.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/unique_fd.h"
#include "tests/integration/ocirun_test_util.h"

namespace registry_test {
namespace {

constexpr char kRegistryBinary[] = "/usr/bin/docker-registry";
constexpr char kSkopeo[] = "/usr/bin/skopeo";
constexpr char kOpenssl[] = "/usr/bin/openssl";

void Run(const std::vector<std::string>& argv) {
  auto result = ocirun_test::RunProcess(argv, "", std::chrono::seconds(120));
  INFO(argv[0] << " " << argv[1] << ": " << result.out << result.err);
  REQUIRE(result.exit_code == 0);
}

}  // namespace

int FreePort() {
  gantry::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  return ntohs(addr.sin_port);
}

bool Listening(int port) {
  gantry::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

TestRegistry::TestRegistry(std::string dir, RegistryConfig config)
    : dir_(std::move(dir)), config_(std::move(config)), port_(FreePort()) {
  std::string yaml =
      absl::StrCat("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n",
                   "    rootdirectory: ", storage(), "\n  delete:\n    enabled: true\n",
                   "http:\n  addr: 127.0.0.1:", port_, "\n");
  if (!config_.tls_cert.empty())
    absl::StrAppend(&yaml, "  tls:\n    certificate: ", config_.tls_cert,
                    "\n    key: ", config_.tls_key, "\n");
  if (!config_.client_ca.empty())
    absl::StrAppend(&yaml, "    clientcas:\n      - ", config_.client_ca, "\n");
  if (!config_.htpasswd.empty())
    absl::StrAppend(
        &yaml, "auth:\n  htpasswd:\n    realm: gantry-test\n    path: ", config_.htpasswd, "\n");
  REQUIRE(gantry::WriteFileAtomic(dir_ + "/registry.yml", yaml).ok());
  Start();
}

std::string TestRegistry::domain() const { return absl::StrCat("127.0.0.1:", port_); }

std::string TestRegistry::BlobPath(const std::string& digest) const {
  std::string hex = digest.substr(digest.find(':') + 1);
  return absl::StrCat(storage(), "/docker/registry/v2/blobs/sha256/", hex.substr(0, 2), "/", hex,
                      "/data");
}

void TestRegistry::Start() {
  std::string config = dir_ + "/registry.yml";
  std::string log = dir_ + "/registry.log";
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(kRegistryBinary, kRegistryBinary, "serve", config.c_str(), nullptr);
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!Listening(port_)) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      auto text = gantry::ReadFile(log);
      FAIL("docker-registry exited: " << (text.ok() ? *text : ""));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      FAIL("docker-registry did not listen on " << domain() << " within 15 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void TestRegistry::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void TestRegistry::Restart() {
  Kill();
  Start();
}

void PushFixture(const std::string& domain, const std::string& repo,
                 const std::vector<std::string>& extra_flags) {
  std::vector<std::string> argv = {kSkopeo, "--insecure-policy", "copy", "--quiet"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  argv.push_back(absl::StrCat("oci-archive:", GANTRY_FIXTURES_DIR, "/images/busybox-oci.tar"));
  argv.push_back(absl::StrCat("docker://", domain, "/", repo));
  Run(argv);
}

namespace {

// Issues DIR/NAME.key and DIR/CERT_FILE signed by DIR/ca.{crt,key}, with one
// X.509v3 extension line.
void IssueCertificate(const std::string& dir, const std::string& name, const std::string& subject,
                      const std::string& extension, const std::string& cert_file) {
  std::string base = dir + "/" + name;
  Run({kOpenssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", base + ".key",
       "-out", base + ".csr"});
  REQUIRE(gantry::WriteFileAtomic(base + ".ext", extension + "\n").ok());
  Run({kOpenssl, "x509", "-req", "-in", base + ".csr", "-CA", dir + "/ca.crt", "-CAkey",
       dir + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile", base + ".ext", "-out",
       dir + "/" + cert_file});
}

}  // namespace

void MakeTestCertificates(const std::string& dir) {
  Run({kOpenssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
       "/CN=gantry test CA", "-keyout", dir + "/ca.key", "-out", dir + "/ca.crt"});
  IssueCertificate(dir, "server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1", "server.crt");
  // certs.d names a client certificate *.cert.
  IssueCertificate(dir, "client", "/CN=gantry client", "extendedKeyUsage=clientAuth",
                   "client.cert");
}

void WriteHtpasswd(const std::string& path, const std::string& user, const std::string& password) {
  const char* salt = ::crypt_gensalt("$2b$", 5, nullptr, 0);
  REQUIRE(salt != nullptr);
  const char* hash = ::crypt(password.c_str(), salt);
  REQUIRE(hash != nullptr);
  REQUIRE(gantry::WriteFileAtomic(path, absl::StrCat(user, ":", hash, "\n")).ok());
}

}  // namespace registry_test
