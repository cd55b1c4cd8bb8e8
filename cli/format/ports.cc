#include "cli/format/ports.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gantry::cli {
namespace {

using nlohmann::json;

struct Port {
  std::string ip;
  int64_t private_port = 0;
  int64_t public_port = 0;
  std::string type;
};

// docker's comparePorts.
bool PortLess(const Port& a, const Port& b) {
  if (a.private_port != b.private_port) return a.private_port < b.private_port;
  if (a.ip != b.ip) return a.ip < b.ip;
  if (a.public_port != b.public_port) return a.public_port < b.public_port;
  return a.type < b.type;
}

struct PortGroup {
  int64_t first = 0;
  int64_t last = 0;
};

// "80-81/tcp", or with an address "0.0.0.0:80-81->80-81/tcp".
std::string FormGroup(const std::string& ip, const std::string& type, const PortGroup& group) {
  std::string range = absl::StrCat(group.first);
  if (group.first != group.last) absl::StrAppend(&range, "-", group.last);
  if (!ip.empty()) range = absl::StrCat(JoinHostPort(ip, ""), range, "->", range);
  return absl::StrCat(range, "/", type);
}

}  // namespace

std::string JoinHostPort(absl::string_view host, absl::string_view port) {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

std::string DisplayablePorts(const json& list) {
  std::vector<Port> ports;
  for (const json& p : list.is_array() ? list : json::array()) {
    if (!p.is_object()) continue;
    ports.push_back({p.value("IP", ""), p.value("PrivatePort", int64_t{0}),
                     p.value("PublicPort", int64_t{0}), p.value("Type", "tcp")});
  }
  std::sort(ports.begin(), ports.end(), PortLess);
  // Groups by address and protocol, in the order they first appear.
  std::vector<std::pair<std::string, std::string>> keys;
  std::map<std::pair<std::string, std::string>, PortGroup> groups;
  std::vector<std::string> result;
  std::vector<std::string> mappings;
  for (const Port& port : ports) {
    if (!port.ip.empty() && port.public_port != port.private_port) {
      mappings.push_back(absl::StrCat(JoinHostPort(port.ip, absl::StrCat(port.public_port)), "->",
                                      port.private_port, "/", port.type));
      continue;
    }
    const std::pair<std::string, std::string> key = {port.ip, port.type};
    auto found = groups.find(key);
    if (found == groups.end()) {
      groups[key] = {port.private_port, port.private_port};
      keys.push_back(key);
    } else if (port.private_port == found->second.last + 1) {
      found->second.last = port.private_port;
    } else {
      result.push_back(FormGroup(key.first, key.second, found->second));
      found->second = {port.private_port, port.private_port};
    }
  }
  for (const auto& key : keys) result.push_back(FormGroup(key.first, key.second, groups[key]));
  result.insert(result.end(), mappings.begin(), mappings.end());
  return absl::StrJoin(result, ", ");
}

bool NaturalLess(absl::string_view a, absl::string_view b) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const bool digit_a = absl::ascii_isdigit(a[i]);
    const bool digit_b = absl::ascii_isdigit(b[j]);
    if (digit_a != digit_b) return digit_a;  // digits first
    if (!digit_a) {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
      continue;
    }
    // Two numbers: skip leading zeros, then the longer is larger.
    size_t start_a = i;
    size_t start_b = j;
    while (i < a.size() && absl::ascii_isdigit(a[i])) ++i;
    while (j < b.size() && absl::ascii_isdigit(b[j])) ++j;
    absl::string_view num_a = a.substr(start_a, i - start_a);
    absl::string_view num_b = b.substr(start_b, j - start_b);
    const size_t zeros_a = std::min(num_a.find_first_not_of('0'), num_a.size());
    const size_t zeros_b = std::min(num_b.find_first_not_of('0'), num_b.size());
    absl::string_view trimmed_a = num_a.substr(zeros_a);
    absl::string_view trimmed_b = num_b.substr(zeros_b);
    if (trimmed_a.size() != trimmed_b.size()) return trimmed_a.size() < trimmed_b.size();
    if (trimmed_a != trimmed_b) return trimmed_a < trimmed_b;
    if (num_a.size() != num_b.size()) return num_a.size() < num_b.size();
  }
  // Equal so far: the shorter sorts first.
  return a.size() < b.size();
}

}  // namespace gantry::cli
