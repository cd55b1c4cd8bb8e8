#include "engined/network/netlink.h"

#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <array>
#include <cstring>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"

namespace gantry::engined::network {
namespace {

// libnl's objects are reference counted; these drop the reference we hold.
struct LinkPut {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
struct AddrPut {
  void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};
struct RoutePut {
  void operator()(rtnl_route* route) const { rtnl_route_put(route); }
};
struct NlAddrPut {
  void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};
struct CachePut {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};
using Link = std::unique_ptr<rtnl_link, LinkPut>;
using NlAddr = std::unique_ptr<nl_addr, NlAddrPut>;
using Cache = std::unique_ptr<nl_cache, CachePut>;

// "<what>: <libnl's reason>", coded as the errno would be.
absl::Status NlError(int err, absl::string_view what) {
  err = err < 0 ? -err : err;
  absl::StatusCode code = absl::StatusCode::kInternal;
  switch (err) {
    case NLE_EXIST:
      code = absl::StatusCode::kAlreadyExists;
      break;
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV:
      code = absl::StatusCode::kNotFound;
      break;
    case NLE_PERM:
      code = absl::StatusCode::kPermissionDenied;
      break;
    case NLE_INVAL:
    case NLE_RANGE:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case NLE_BUSY:
      code = absl::StatusCode::kUnavailable;
      break;
    default:
      break;
  }
  return absl::Status(code, absl::StrCat(what, ": ", nl_geterror(err)));
}

absl::Status CheckName(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(
        absl::StrCat("link name \"", name, "\": must be 1 to ", IFNAMSIZ - 1, " bytes"));
  }
  return absl::OkStatus();
}

NlAddr Ipv4NlAddr(Ipv4Address address, int prefix_length) {
  const uint32_t raw = address.network_order();
  NlAddr addr(nl_addr_build(AF_INET, &raw, sizeof(raw)));
  if (addr) nl_addr_set_prefixlen(addr.get(), prefix_length);
  return addr;
}

absl::Status OutOfMemory(absl::string_view what) {
  return absl::ResourceExhaustedError(absl::StrCat(what, ": out of memory"));
}

}  // namespace

std::string MacAddressFor(Ipv4Address address) {
  const uint32_t v = address.value();
  return absl::StrFormat("02:42:%02x:%02x:%02x:%02x", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff,
                         v & 0xff);
}

void Netlink::SocketDeleter::operator()(nl_sock* sock) const { nl_socket_free(sock); }

absl::StatusOr<Netlink> Netlink::Open() {
  std::unique_ptr<nl_sock, SocketDeleter> sock(nl_socket_alloc());
  if (!sock) return OutOfMemory("netlink socket");
  // libnl opens it with SOCK_CLOEXEC.
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    return NlError(err, "netlink socket: connect");
  }
  return Netlink(std::move(sock));
}

namespace {

// Fetches the link as the kernel has it now.
absl::StatusOr<Link> GetLink(nl_sock* sock, const std::string& name) {
  GANTRY_RETURN_IF_ERROR(CheckName(name));
  rtnl_link* link = nullptr;
  if (int err = rtnl_link_get_kernel(sock, 0, name.c_str(), &link); err < 0) {
    return NlError(err, absl::StrCat("link ", name));
  }
  return Link(link);
}

// Applies the attributes `edit` sets on an empty link to the link `name`.
absl::Status ChangeLink(nl_sock* sock, const std::string& name, absl::string_view what,
                        const std::function<void(rtnl_link*)>& edit) {
  GANTRY_ASSIGN_OR_RETURN(Link current, GetLink(sock, name));
  Link change(rtnl_link_alloc());
  if (!change) return OutOfMemory(absl::StrCat("link ", name));
  edit(change.get());
  if (int err = rtnl_link_change(sock, current.get(), change.get(), 0); err < 0) {
    return NlError(err, absl::StrCat("link ", name, ": ", what));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Netlink::CreateBridge(const std::string& name, int mtu) {
  GANTRY_RETURN_IF_ERROR(CheckName(name));
  Link bridge(rtnl_link_bridge_alloc());
  if (!bridge) return OutOfMemory(absl::StrCat("bridge ", name));
  rtnl_link_set_name(bridge.get(), name.c_str());
  if (mtu > 0) rtnl_link_set_mtu(bridge.get(), mtu);
  if (int err = rtnl_link_add(sock_.get(), bridge.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return NlError(err, absl::StrCat("bridge ", name, ": create"));
  }
  return absl::OkStatus();
}

absl::Status Netlink::CreateVethPair(const std::string& name, const std::string& peer_name,
                                     int mtu) {
  GANTRY_RETURN_IF_ERROR(CheckName(name));
  GANTRY_RETURN_IF_ERROR(CheckName(peer_name));
  Link veth(rtnl_link_veth_alloc());
  if (!veth) return OutOfMemory(absl::StrCat("veth ", name));
  rtnl_link* peer = rtnl_link_veth_get_peer(veth.get());  // owned by veth
  rtnl_link_set_name(veth.get(), name.c_str());
  rtnl_link_set_name(peer, peer_name.c_str());
  if (mtu > 0) {
    rtnl_link_set_mtu(veth.get(), mtu);
    rtnl_link_set_mtu(peer, mtu);
  }
  int err = rtnl_link_add(sock_.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(peer);  // rtnl_link_veth_get_peer took a reference
  if (err < 0) return NlError(err, absl::StrCat("veth ", name, " (peer ", peer_name, "): create"));
  return absl::OkStatus();
}

absl::Status Netlink::CreateMacvlan(const std::string& name, const std::string& parent, int mtu) {
  GANTRY_RETURN_IF_ERROR(CheckName(name));
  const std::string what = absl::StrCat("macvlan ", name, " on ", parent, ": create");
  GANTRY_ASSIGN_OR_RETURN(Link parent_link, GetLink(sock_.get(), parent));
  Link macvlan(rtnl_link_macvlan_alloc());
  if (!macvlan) return OutOfMemory(what);
  rtnl_link_set_name(macvlan.get(), name.c_str());
  rtnl_link_set_link(macvlan.get(), rtnl_link_get_ifindex(parent_link.get()));
  if (mtu > 0) rtnl_link_set_mtu(macvlan.get(), mtu);
  if (int err = rtnl_link_macvlan_set_mode(macvlan.get(), rtnl_link_macvlan_str2mode("bridge"));
      err < 0) {
    return NlError(err, what);
  }
  if (int err = rtnl_link_add(sock_.get(), macvlan.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return NlError(err, what);
  }
  return absl::OkStatus();
}

absl::Status Netlink::DeleteLink(const std::string& name) {
  GANTRY_RETURN_IF_ERROR(CheckName(name));
  Link link(rtnl_link_alloc());
  if (!link) return OutOfMemory(absl::StrCat("link ", name));
  rtnl_link_set_name(link.get(), name.c_str());
  int err = rtnl_link_delete(sock_.get(), link.get());
  if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV) {
    return NlError(err, absl::StrCat("link ", name, ": delete"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Netlink::LinkExists(const std::string& name) {
  absl::StatusOr<Link> link = GetLink(sock_.get(), name);
  if (absl::IsNotFound(link.status())) return false;
  if (!link.ok()) return link.status();
  return true;
}

absl::StatusOr<std::vector<std::string>> Netlink::LinkNames() {
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(sock_.get(), AF_UNSPEC, &raw); err < 0) {
    return NlError(err, "links: list");
  }
  Cache cache(raw);
  std::vector<std::string> names;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj != nullptr;
       obj = nl_cache_get_next(obj)) {
    names.emplace_back(rtnl_link_get_name(reinterpret_cast<rtnl_link*>(obj)));
  }
  return names;
}

absl::Status Netlink::MoveToNamespace(const std::string& name, int netns_fd) {
  return ChangeLink(sock_.get(), name, "move to network namespace",
                    [&](rtnl_link* change) { rtnl_link_set_ns_fd(change, netns_fd); });
}

absl::Status Netlink::Rename(const std::string& name, const std::string& new_name) {
  GANTRY_RETURN_IF_ERROR(CheckName(new_name));
  return ChangeLink(sock_.get(), name, absl::StrCat("rename to ", new_name),
                    [&](rtnl_link* change) { rtnl_link_set_name(change, new_name.c_str()); });
}

absl::Status Netlink::SetMacAddress(const std::string& name, const std::string& mac) {
  std::array<uint8_t, 6> bytes{};
  std::vector<absl::string_view> parts = absl::StrSplit(mac, ':');
  bool valid = parts.size() == bytes.size();
  for (size_t i = 0; valid && i < parts.size(); ++i) {
    uint32_t byte = 0;
    valid = parts[i].size() == 2 && absl::SimpleHexAtoi(parts[i], &byte);
    bytes[i] = static_cast<uint8_t>(byte);
  }
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("link ", name, ": invalid MAC address \"", mac, "\""));
  }
  NlAddr addr(nl_addr_build(AF_LLC, bytes.data(), bytes.size()));
  if (!addr) return OutOfMemory(absl::StrCat("link ", name));
  return ChangeLink(sock_.get(), name, absl::StrCat("set MAC address ", mac),
                    [&](rtnl_link* change) { rtnl_link_set_addr(change, addr.get()); });
}

absl::Status Netlink::SetMtu(const std::string& name, int mtu) {
  return ChangeLink(sock_.get(), name, absl::StrCat("set MTU ", mtu),
                    [&](rtnl_link* change) { rtnl_link_set_mtu(change, mtu); });
}

absl::Status Netlink::SetUp(const std::string& name) {
  return ChangeLink(sock_.get(), name, "set up",
                    [](rtnl_link* change) { rtnl_link_set_flags(change, IFF_UP); });
}

absl::Status Netlink::SetDown(const std::string& name) {
  return ChangeLink(sock_.get(), name, "set down",
                    [](rtnl_link* change) { rtnl_link_unset_flags(change, IFF_UP); });
}

absl::Status Netlink::AttachToBridge(const std::string& name, const std::string& bridge) {
  GANTRY_ASSIGN_OR_RETURN(Link master, GetLink(sock_.get(), bridge));
  const int master_index = rtnl_link_get_ifindex(master.get());
  return ChangeLink(sock_.get(), name, absl::StrCat("attach to bridge ", bridge),
                    [&](rtnl_link* change) { rtnl_link_set_master(change, master_index); });
}

absl::Status Netlink::AddAddress(const std::string& name, Ipv4InterfaceAddress address) {
  const std::string what = absl::StrCat("link ", name, ": add address ", address.ToString());
  GANTRY_ASSIGN_OR_RETURN(Link link, GetLink(sock_.get(), name));
  std::unique_ptr<rtnl_addr, AddrPut> addr(rtnl_addr_alloc());
  NlAddr local = Ipv4NlAddr(address.address, address.prefix_length);
  if (!addr || !local) return OutOfMemory(what);
  rtnl_addr_set_ifindex(addr.get(), rtnl_link_get_ifindex(link.get()));
  rtnl_addr_set_family(addr.get(), AF_INET);
  if (int err = rtnl_addr_set_local(addr.get(), local.get()); err < 0) return NlError(err, what);
  rtnl_addr_set_prefixlen(addr.get(), address.prefix_length);
  if (address.prefix_length < 31) {
    NlAddr broadcast = Ipv4NlAddr(address.subnet().last(), 32);
    if (!broadcast) return OutOfMemory(what);
    if (int err = rtnl_addr_set_broadcast(addr.get(), broadcast.get()); err < 0) {
      return NlError(err, what);
    }
  }
  if (int err = rtnl_addr_add(sock_.get(), addr.get(), 0); err < 0) return NlError(err, what);
  return absl::OkStatus();
}

absl::Status Netlink::AddDefaultRoute(Ipv4Address gateway) {
  const std::string what = absl::StrCat("default route via ", gateway.ToString());
  std::unique_ptr<rtnl_route, RoutePut> route(rtnl_route_alloc());
  NlAddr dst = Ipv4NlAddr(Ipv4Address(0), 0);
  NlAddr via = Ipv4NlAddr(gateway, 32);
  rtnl_nexthop* nexthop = rtnl_route_nh_alloc();
  if (!route || !dst || !via || !nexthop) {
    if (nexthop) rtnl_route_nh_free(nexthop);
    return OutOfMemory(what);
  }
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  if (int err = rtnl_route_set_dst(route.get(), dst.get()); err < 0) return NlError(err, what);
  rtnl_route_nh_set_gateway(nexthop, via.get());
  rtnl_route_add_nexthop(route.get(), nexthop);  // the route owns it now
  if (int err = rtnl_route_add(sock_.get(), route.get(), NLM_F_EXCL); err < 0) {
    return NlError(err, what);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Ipv4Prefix>> Netlink::Ipv4Routes() {
  nl_cache* raw = nullptr;
  if (int err = rtnl_route_alloc_cache(sock_.get(), AF_INET, 0, &raw); err < 0) {
    return NlError(err, "IPv4 routes: list");
  }
  Cache cache(raw);
  std::vector<Ipv4Prefix> routes;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj != nullptr;
       obj = nl_cache_get_next(obj)) {
    auto* route = reinterpret_cast<rtnl_route*>(obj);
    if (rtnl_route_get_table(route) != RT_TABLE_MAIN) continue;
    nl_addr* dst = rtnl_route_get_dst(route);
    uint32_t raw_address = 0;
    int length = 0;
    if (dst != nullptr && nl_addr_get_len(dst) == sizeof(raw_address)) {
      std::memcpy(&raw_address, nl_addr_get_binary_addr(dst), sizeof(raw_address));
      length = static_cast<int>(nl_addr_get_prefixlen(dst));
    }
    routes.push_back(Ipv4Prefix::Containing(Ipv4Address(ntohl(raw_address)), length));
  }
  return routes;
}

}  // namespace gantry::engined::network
