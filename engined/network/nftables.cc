#include "engined/network/nftables.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>

#include <cstdlib>

#include <map>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/errors.h"
#include "common/file_util.h"

namespace gantry::engined::network {
namespace {

constexpr absl::string_view kTable = "ip gantry";
// The comment of the skeleton's jump rules, so EnsureTable can tell which exist.
constexpr absl::string_view kSkeletonTag = "gantry-skeleton";

struct Chain {
  const char* name;
  const char* base;  // the base chain's spec, or "" for a regular chain
};
constexpr Chain kChains[] = {
    {"prerouting", "type nat hook prerouting priority dstnat; policy accept;"},
    // nft 1.0.6 knows "dstnat" only for prerouting; -100 is its value.
    {"output", "type nat hook output priority -100; policy accept;"},
    {"postrouting", "type nat hook postrouting priority srcnat; policy accept;"},
    {"port-mappings", ""},
    {"forward", "type filter hook forward priority filter; policy accept;"},
    {"isolation-stage-1", ""},
    {"isolation-stage-2", ""},
};

struct SkeletonRule {
  const char* chain;
  const char* rule;
};
constexpr SkeletonRule kSkeletonRules[] = {
    {"prerouting", "fib daddr type local jump port-mappings"},
    {"output", "ip daddr != 127.0.0.0/8 fib daddr type local jump port-mappings"},
    {"forward", "jump isolation-stage-1"},
};

// Tags and link names end up inside nft's quotes, so they are kept to
// characters that need no escaping.
absl::Status CheckToken(absl::string_view what, absl::string_view value, size_t max_size) {
  bool valid = !value.empty() && value.size() <= max_size;
  for (char c : value) {
    valid = valid && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
                      c == ':' || c == '-');
  }
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrCat("nftables: ", what, " \"", value,
                                                   "\": expected 1 to ", max_size,
                                                   " letters, digits or _.:-"));
  }
  return absl::OkStatus();
}

absl::Status CheckTag(absl::string_view tag) { return CheckToken("tag", tag, 100); }
absl::Status CheckLinkName(absl::string_view name) { return CheckToken("link name", name, 15); }

std::string AddRule(absl::string_view chain, absl::string_view rule, absl::string_view tag) {
  return absl::StrCat("add rule ", kTable, " ", chain, " ", rule, " comment \"", tag, "\"\n");
}

// The rules of the table, from `nft -j -a list table`: (chain, handle, comment).
struct ListedRule {
  std::string chain;
  int64_t handle = 0;
  std::string comment;
};
struct TableContents {
  std::set<std::string> chains;
  std::vector<ListedRule> rules;
};

absl::StatusOr<TableContents> ParseTable(const std::string& json_text) {
  nlohmann::json listing = nlohmann::json::parse(json_text, nullptr, false);
  if (!listing.is_object() || !listing.contains("nftables") || !listing["nftables"].is_array()) {
    return absl::InternalError("nftables: list table ip gantry: unexpected JSON output");
  }
  TableContents contents;
  for (const nlohmann::json& item : listing["nftables"]) {
    if (item.contains("chain")) {
      contents.chains.insert(item["chain"].value("name", ""));
    } else if (item.contains("rule")) {
      const nlohmann::json& rule = item["rule"];
      contents.rules.push_back(ListedRule{rule.value("chain", ""), rule.value("handle", int64_t{0}),
                                          rule.value("comment", "")});
    }
  }
  return contents;
}

// libnftables opens its netlink socket (in nft_ctx_new) without CLOEXEC, so
// children engined starts would inherit it. Netfilter netlink sockets are
// libnftables' alone in engined, so each one found is marked.
void MarkNetfilterSocketsCloexec() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* entry = ::readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (entry->d_name[0] == '.' || fd == ::dirfd(dir)) continue;
    int domain = 0, protocol = 0;
    socklen_t size = sizeof(int);
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0 || domain != AF_NETLINK) {
      continue;
    }
    size = sizeof(int);
    if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &size) == 0 &&
        protocol == NETLINK_NETFILTER) {
      ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
    }
  }
  ::closedir(dir);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Firewall>> Firewall::Open() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  MarkNetfilterSocketsCloexec();
  if (ctx == nullptr) return absl::InternalError("nftables: cannot create a context");
  std::unique_ptr<Firewall> firewall(new Firewall(ctx));
  if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
    return absl::InternalError("nftables: cannot buffer output");
  }
  return firewall;
}

Firewall::~Firewall() { nft_ctx_free(ctx_); }

absl::StatusOr<std::string> Firewall::Run(absl::string_view commands, bool json) {
  std::lock_guard lock(mu_);
  nft_ctx_output_set_flags(ctx_, json ? NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE : 0);
  const int rc = nft_run_cmd_from_buffer(ctx_, std::string(commands).c_str());
  std::string output = nft_ctx_get_output_buffer(ctx_);
  std::string errors = nft_ctx_get_error_buffer(ctx_);
  if (rc != 0) {
    absl::string_view first_line = commands.substr(0, commands.find('\n'));
    const absl::StatusCode code = absl::StrContains(errors, "No such file or directory")
                                      ? absl::StatusCode::kNotFound
                                      : absl::StatusCode::kInternal;
    return absl::Status(code, absl::StrCat("nftables: ", first_line,
                                           commands.size() > first_line.size() + 1 ? " ..." : "",
                                           ": ", absl::StripAsciiWhitespace(errors)));
  }
  return output;
}

absl::StatusOr<bool> Firewall::TableExists() {
  GANTRY_ASSIGN_OR_RETURN(std::string output, Run("list tables ip", /*json=*/true));
  nlohmann::json listing = nlohmann::json::parse(output, nullptr, false);
  if (!listing.is_object() || !listing["nftables"].is_array()) {
    return absl::InternalError("nftables: list tables ip: unexpected JSON output");
  }
  for (const nlohmann::json& item : listing["nftables"]) {
    if (item.contains("table") && item["table"].value("name", "") == "gantry") return true;
  }
  return false;
}

absl::Status Firewall::EnsureTable() {
  std::lock_guard lock(operation_mu_);
  TableContents contents;
  GANTRY_ASSIGN_OR_RETURN(bool exists, TableExists());
  if (exists) {
    GANTRY_ASSIGN_OR_RETURN(std::string listed,
                            Run(absl::StrCat("list table ", kTable), /*json=*/true));
    GANTRY_ASSIGN_OR_RETURN(contents, ParseTable(listed));
  }
  std::string commands = absl::StrCat("add table ", kTable, "\n");
  for (const Chain& chain : kChains) {
    if (contents.chains.count(chain.name) != 0) continue;
    absl::StrAppend(&commands, "add chain ", kTable, " ", chain.name);
    if (*chain.base != '\0') absl::StrAppend(&commands, " { ", chain.base, " }");
    commands += "\n";
  }
  for (const SkeletonRule& skeleton : kSkeletonRules) {
    bool present = false;
    for (const ListedRule& rule : contents.rules) {
      present = present || (rule.chain == skeleton.chain && rule.comment == kSkeletonTag);
    }
    if (!present) commands += AddRule(skeleton.chain, skeleton.rule, kSkeletonTag);
  }
  return Run(commands).status();
}

absl::Status Firewall::Reset() {
  // "add" first so that the delete never fails for a missing table.
  return Run(absl::StrCat("add table ", kTable, "\ndelete table ", kTable, "\n")).status();
}

absl::Status Firewall::AddNetwork(const BridgeNetworkRules& rules) {
  GANTRY_RETURN_IF_ERROR(CheckTag(rules.tag));
  GANTRY_RETURN_IF_ERROR(CheckLinkName(rules.bridge));
  const std::string br = absl::StrCat("\"", rules.bridge, "\"");
  std::string commands;
  if (rules.internal) {
    commands +=
        AddRule("forward", absl::StrCat("iifname ", br, " oifname != ", br, " drop"), rules.tag);
    commands +=
        AddRule("forward", absl::StrCat("oifname ", br, " iifname != ", br, " drop"), rules.tag);
    commands +=
        AddRule("forward", absl::StrCat("iifname ", br, " oifname ", br, " accept"), rules.tag);
  } else {
    commands += AddRule(
        "postrouting",
        absl::StrCat("ip saddr ", rules.subnet.ToString(), " oifname != ", br, " masquerade"),
        rules.tag);
    commands += AddRule(
        "forward", absl::StrCat("oifname ", br, " ct state established,related accept"), rules.tag);
    commands +=
        AddRule("forward", absl::StrCat("oifname ", br, " ct status dnat accept"), rules.tag);
    commands += AddRule("forward", absl::StrCat("iifname ", br, " accept"), rules.tag);
  }
  commands += AddRule("isolation-stage-1",
                      absl::StrCat("iifname ", br, " oifname != ", br, " jump isolation-stage-2"),
                      rules.tag);
  commands += AddRule("isolation-stage-2", absl::StrCat("oifname ", br, " drop"), rules.tag);
  return Annotate(Run(commands).status(), absl::StrCat("network ", rules.tag));
}

absl::Status Firewall::AddPortMapping(const PortMappingRule& rule) {
  GANTRY_RETURN_IF_ERROR(CheckTag(rule.tag));
  if (rule.protocol != "tcp" && rule.protocol != "udp") {
    return absl::InvalidArgumentError(absl::StrCat("nftables: port mapping ", rule.tag,
                                                   ": protocol \"", rule.protocol,
                                                   "\": expected tcp or udp"));
  }
  if (rule.host_port == 0 || rule.container_port == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("nftables: port mapping ", rule.tag, ": ports must be 1..65535"));
  }
  std::string match;
  if (!rule.bridge.empty()) {
    GANTRY_RETURN_IF_ERROR(CheckLinkName(rule.bridge));
    absl::StrAppend(&match, "iifname != \"", rule.bridge, "\" ");
  }
  if (rule.host_ip) absl::StrAppend(&match, "ip daddr ", rule.host_ip->ToString(), " ");
  absl::StrAppend(&match, rule.protocol, " dport ", rule.host_port, " dnat to ",
                  rule.container_ip.ToString(), ":", rule.container_port);
  return Annotate(Run(AddRule("port-mappings", match, rule.tag)).status(),
                  absl::StrCat("port mapping ", rule.tag));
}

absl::Status Firewall::DeleteRulesTagged(absl::string_view tag) {
  GANTRY_RETURN_IF_ERROR(CheckTag(tag));
  std::lock_guard lock(operation_mu_);
  GANTRY_ASSIGN_OR_RETURN(bool exists, TableExists());
  if (!exists) return absl::OkStatus();
  GANTRY_ASSIGN_OR_RETURN(std::string listed,
                          Run(absl::StrCat("list table ", kTable), /*json=*/true));
  GANTRY_ASSIGN_OR_RETURN(TableContents contents, ParseTable(listed));
  std::string commands;
  for (const ListedRule& rule : contents.rules) {
    if (rule.comment != tag) continue;
    absl::StrAppend(&commands, "delete rule ", kTable, " ", rule.chain, " handle ", rule.handle,
                    "\n");
  }
  if (commands.empty()) return absl::OkStatus();
  return Annotate(Run(commands).status(), absl::StrCat("rules tagged ", tag));
}

absl::StatusOr<std::string> Firewall::Listing() {
  GANTRY_ASSIGN_OR_RETURN(bool exists, TableExists());
  if (!exists) return std::string();
  return Run(absl::StrCat("list table ", kTable));
}

absl::Status EnableIpv4Forwarding() {
  return WriteExistingFile("/proc/sys/net/ipv4/ip_forward", "1");
}

}  // namespace gantry::engined::network
