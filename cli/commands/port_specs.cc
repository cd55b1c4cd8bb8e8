#include "cli/commands/port_specs.h"

#include <arpa/inet.h>

#include <cstdint>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errors.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

struct PortRange {
  uint32_t start = 0;
  uint32_t end = 0;
};

// "80" or "8000-8010" (nat.ParsePortRange).
bool ParsePortRange(absl::string_view text, PortRange& range) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('-', 1));
  if (!absl::SimpleAtoi(parts.first, &range.start) || range.start > 65535) return false;
  range.end = range.start;
  if (absl::StrContains(text, '-') && (!absl::SimpleAtoi(parts.second, &range.end) ||
                                       range.end > 65535 || range.end < range.start)) {
    return false;
  }
  return true;
}

// "proto/port" split as nat.SplitProtoPort: "80" -> tcp, "80/udp" -> udp.
std::pair<std::string, std::string> SplitProtoPort(absl::string_view text) {
  std::pair<std::string, std::string> parts = absl::StrSplit(text, absl::MaxSplits('/', 1));
  if (parts.second.empty()) parts.second = "tcp";
  return {parts.first, parts.second};
}

bool IsIpAddress(const std::string& text) {
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

// The long form as the short one: "published:target/protocol".
absl::StatusOr<std::string> StandardNotation(const std::string& spec) {
  if (!absl::StrContains(spec, '=')) return spec;
  std::map<std::string, std::string> params = {{"protocol", "tcp"}};
  for (absl::string_view param : absl::StrSplit(spec, ',')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(param, absl::MaxSplits('=', 1));
    if (kv.first.empty() || !absl::StrContains(param, '=')) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid publish opts format (should be name=value but got '", param, "')"));
    }
    params[kv.first] = kv.second;
  }
  return absl::StrCat(params["published"], ":", params["target"], "/", params["protocol"]);
}

}  // namespace

absl::StatusOr<std::vector<PortMapping>> ParsePortSpec(const std::string& spec) {
  GANTRY_ASSIGN_OR_RETURN(const std::string raw, StandardNotation(spec));
  // ip:host:container, where the ip may itself hold colons.
  std::vector<std::string> parts = absl::StrSplit(raw, ':');
  std::string ip;
  std::string host_port;
  std::string container_port = parts.back();
  if (parts.size() == 2) host_port = parts[0];
  if (parts.size() >= 3) {
    host_port = parts[parts.size() - 2];
    ip = absl::StrJoin(parts.begin(), parts.end() - 2, ":");
  }
  const auto [port_text, proto_text] = SplitProtoPort(container_port);
  if (absl::StartsWith(ip, "[") && absl::EndsWith(ip, "]")) ip = ip.substr(1, ip.size() - 2);
  if (!ip.empty() && !IsIpAddress(ip)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid IP address: ", ip));
  }
  if (port_text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no port specified: ", raw, "<empty>"));
  }
  PortRange container;
  if (!ParsePortRange(port_text, container)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid containerPort: ", port_text));
  }
  PortRange host;
  if (!host_port.empty() && !ParsePortRange(host_port, host)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid hostPort: ", host_port));
  }
  // A host range for one container port is where to pick its port from.
  if (!host_port.empty() && container.end - container.start != host.end - host.start &&
      container.end != container.start) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ranges specified for container and host Ports: ", port_text, " and ", host_port));
  }
  const std::string proto = absl::AsciiStrToLower(proto_text);
  if (proto != "tcp" && proto != "udp" && proto != "sctp") {
    return absl::InvalidArgumentError(absl::StrCat("invalid proto: ", proto));
  }
  std::vector<PortMapping> mappings;
  for (uint32_t i = 0; i <= container.end - container.start; ++i) {
    PortMapping mapping{absl::StrCat(container.start + i, "/", proto), ip, ""};
    if (!host_port.empty()) {
      mapping.host_port = container.start == container.end && host.start != host.end
                              ? absl::StrCat(host.start, "-", host.end)
                              : absl::StrCat(host.start + i);
    }
    mappings.push_back(mapping);
  }
  return mappings;
}

absl::StatusOr<PublishedPorts> ParsePublishedPorts(const std::vector<std::string>& publish,
                                                   const std::vector<std::string>& expose) {
  PublishedPorts ports;
  for (const std::string& spec : publish) {
    GANTRY_ASSIGN_OR_RETURN(std::vector<PortMapping> mappings, ParsePortSpec(spec));
    for (const PortMapping& mapping : mappings) {
      ports.exposed[mapping.port] = json::object();
      ports.bindings[mapping.port].push_back(
          {{"HostIp", mapping.host_ip}, {"HostPort", mapping.host_port}});
    }
  }
  for (const std::string& entry : expose) {
    if (absl::StrContains(entry, ':')) {
      return absl::InvalidArgumentError(absl::StrCat("invalid port format for --expose: ", entry));
    }
    const auto [port_text, proto] = SplitProtoPort(entry);
    PortRange range;
    if (!ParsePortRange(port_text, range)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid range format for --expose: ", entry));
    }
    for (uint32_t port = range.start; port <= range.end; ++port) {
      ports.exposed[absl::StrCat(port, "/", proto)] = json::object();
    }
  }
  return ports;
}

}  // namespace gantry::cli
