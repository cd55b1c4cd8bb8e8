#include "contd/registry/registry_hosts.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"

namespace gantry::registry {
namespace {

std::optional<uint32_t> ParseIpv4(const std::string& text) {
  in_addr addr;
  if (::inet_pton(AF_INET, text.c_str(), &addr) != 1) return std::nullopt;
  return ntohl(addr.s_addr);
}

// Host part of "host[:port]" or "[v6]:port".
std::string HostOf(absl::string_view domain) {
  if (absl::StartsWith(domain, "[")) return std::string(domain.substr(1, domain.find(']') - 1));
  return std::string(domain.substr(0, domain.rfind(':')));
}

}  // namespace

absl::StatusOr<RegistryHosts> RegistryHosts::Create(RegistryHostsConfig config) {
  RegistryHosts hosts(config);
  for (const std::string& entry : config.insecure_registries) {
    if (!absl::StrContains(entry, '/')) {
      hosts.domains_.push_back(entry);
      continue;
    }
    std::string ip = entry.substr(0, entry.find('/'));
    int bits;
    auto network = ParseIpv4(ip);
    if (!network || !absl::SimpleAtoi(entry.substr(entry.find('/') + 1), &bits) || bits < 0 ||
        bits > 32)
      return absl::InvalidArgumentError(absl::StrCat("insecure registry \"", entry,
                                                     "\": expected an IPv4 CIDR or a host[:port]"));
    uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    hosts.cidrs_.push_back({*network & mask, mask});
  }
  return hosts;
}

bool RegistryHosts::IsInsecure(absl::string_view domain) const {
  for (const std::string& d : domains_)
    if (d == domain || d == HostOf(domain)) return true;
  // Docker matches the registry's address against the CIDRs; names would need
  // resolving, which only literal addresses (and localhost) avoid.
  std::string host = HostOf(domain);
  if (host == "localhost") host = "127.0.0.1";
  if (auto ip = ParseIpv4(host)) {
    for (const Cidr& c : cidrs_)
      if ((*ip & c.mask) == c.network) return true;
  }
  return false;
}

std::vector<RegistryEndpoint> RegistryHosts::Endpoints(absl::string_view domain) const {
  // Docker Hub's API lives on registry-1.docker.io.
  std::string host = domain == "docker.io" ? "registry-1.docker.io" : std::string(domain);
  std::vector<RegistryEndpoint> out;
  auto add = [&](const std::string& scheme) {
    auto url = Url::Parse(absl::StrCat(scheme, "://", host, "/"));
    if (url.ok()) out.push_back({*std::move(url)});
  };
  add("https");
  if (IsInsecure(domain)) add("http");
  return out;
}

TlsOptions RegistryHosts::TlsFor(const Url& url) const {
  TlsOptions tls;
  std::string host_port = url.HostPort();
  bool default_port = url.port == "443";
  std::string domain = default_port ? url.host : host_port;
  tls.verify = !IsInsecure(domain);
  // certs.d/HOST:PORT, or certs.d/HOST for the default port.
  std::string dir = absl::StrCat(config_.certs_dir, "/", domain);
  for (const std::string& name : ListDirectoryIfAny(dir)) {
    std::string path = absl::StrCat(dir, "/", name);
    if (absl::EndsWith(name, ".crt")) {
      tls.ca_files.push_back(path);
    } else if (absl::EndsWith(name, ".cert") && tls.client_cert_file.empty()) {
      tls.client_cert_file = path;
      tls.client_key_file = absl::StrCat(dir, "/", absl::StripSuffix(name, ".cert"), ".key");
    }
  }
  return tls;
}

}  // namespace gantry::registry
