// gantry_network against the real kernel (root): namespaces, a bridge with a
// veth into a container namespace, nftables NAT and the userland proxy. All
// of it happens in namespaces the test makes: a "host" namespace stands in
// for the machine (its bridge, routes and gantry table), so the real host's
// links, routes and rules are never touched; a "client" namespace stands in
// for another machine reaching a published port.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors.h"
#include "common/file_util.h"
#include "engined/network/ipv4.h"
#include "engined/network/netlink.h"
#include "engined/network/netns.h"
#include "engined/network/nftables.h"
#include "engined/network/port_proxy.h"
#include "tests/temp_dir.h"

namespace {

using gantry::LastErrno;
using gantry::UniqueFd;
namespace net = gantry::engined::network;
using net::Ipv4Address;
using net::Ipv4InterfaceAddress;

absl::Status StatusOf(const absl::Status& status) { return status; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// Code running on a namespace's thread returns a Status (a Catch2 REQUIRE
// there would throw across the thread); the test thread asserts on it.
#define REQUIRE_OK(expr)                     \
  do {                                       \
    const absl::Status _st = StatusOf(expr); \
    INFO(_st.ToString());                    \
    REQUIRE(_st.ok());                       \
  } while (0)

Ipv4Address A(const char* text) { return *Ipv4Address::Parse(text); }
Ipv4InterfaceAddress Cidr(const char* text) { return *Ipv4InterfaceAddress::Parse(text); }

int CountOpenFds() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (dirent* entry = ::readdir(dir)) count += entry->d_name[0] != '.';
  ::closedir(dir);
  return count - 1;  // the directory's own fd
}

// Every fd above stdio that lacks FD_CLOEXEC, as "fd -> target".
std::vector<std::string> InheritableFds() {
  std::vector<std::string> inheritable;
  DIR* dir = ::opendir("/proc/self/fd");
  while (dirent* entry = ::readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (entry->d_name[0] == '.' || fd <= 2 || fd == ::dirfd(dir)) continue;
    if ((::fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0) {
      char target[256] = {};
      (void)!::readlink(absl::StrCat("/proc/self/fd/", fd).c_str(), target, sizeof(target) - 1);
      inheritable.push_back(absl::StrCat(fd, " -> ", target));
    }
  }
  ::closedir(dir);
  return inheritable;
}

// What the test process inherited (the harness's fds) is not the library's.
const std::vector<std::string> kInheritedAtStart = InheritableFds();

std::vector<std::string> NewInheritableFds() {
  std::vector<std::string> fds;
  for (const std::string& fd : InheritableFds()) {
    if (std::find(kInheritedAtStart.begin(), kInheritedAtStart.end(), fd) ==
        kInheritedAtStart.end()) {
      fds.push_back(fd);
    }
  }
  return fds;
}

sockaddr_in SocketAddress(Ipv4Address ip, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = ip.network_order();
  addr.sin_port = htons(port);
  return addr;
}

absl::Status SetTimeouts(int fd) {
  timeval timeout{5, 0};
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) != 0) {
    return LastErrno("setsockopt timeouts");
  }
  return absl::OkStatus();
}

// A socket of `type` in namespace `ns`, bound (and listening for TCP).
absl::StatusOr<UniqueFd> Listen(const std::string& ns, int type, Ipv4Address ip, uint16_t port) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, net::OpenSocketInNamespace(ns, AF_INET, type));
  GANTRY_RETURN_IF_ERROR(SetTimeouts(fd.get()));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = SocketAddress(ip, port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return LastErrno(absl::StrCat("bind ", ip.ToString(), ":", port));
  }
  if (type == SOCK_STREAM && ::listen(fd.get(), 16) != 0) return LastErrno("listen");
  return fd;
}

absl::StatusOr<UniqueFd> Connect(const std::string& ns, int type, Ipv4Address ip, uint16_t port) {
  GANTRY_ASSIGN_OR_RETURN(UniqueFd fd, net::OpenSocketInNamespace(ns, AF_INET, type));
  GANTRY_RETURN_IF_ERROR(SetTimeouts(fd.get()));
  sockaddr_in addr = SocketAddress(ip, port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return LastErrno(absl::StrCat("connect ", ip.ToString(), ":", port));
  }
  return fd;
}

// Whether a TCP connection from `ns` gets through within a second (a
// dropped SYN times out; nothing needs to accept).
bool CanConnect(const std::string& ns, Ipv4Address ip, uint16_t port) {
  absl::StatusOr<UniqueFd> fd = net::OpenSocketInNamespace(ns, AF_INET, SOCK_STREAM);
  if (!fd.ok()) return false;
  timeval timeout{3,
                  0};  // a loaded machine (tests side by side) is slow to forward the first packet
  ::setsockopt(fd->get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr = SocketAddress(ip, port);
  return ::connect(fd->get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

absl::StatusOr<UniqueFd> Accept(int listener) {
  UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd) return LastErrno("accept");
  GANTRY_RETURN_IF_ERROR(SetTimeouts(fd.get()));
  return fd;
}

std::string PeerAddress(int fd) {
  sockaddr_in addr{};
  socklen_t size = sizeof(addr);
  ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  return Ipv4Address(ntohl(addr.sin_addr.s_addr)).ToString();
}

uint16_t LocalPort(int fd) {
  sockaddr_in addr{};
  socklen_t size = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  return ntohs(addr.sin_port);
}

absl::Status WriteAll(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) return LastErrno("send");
    done += n;
  }
  return absl::OkStatus();
}

// Everything up to EOF.
absl::StatusOr<std::string> ReadAll(int fd) {
  std::string data;
  char buffer[16384];
  while (true) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0) return LastErrno("recv");
    if (n == 0) return data;
    data.append(buffer, n);
  }
}

// One request and its reply over a connection: the client writes, half-closes,
// then reads the server's reply up to EOF.
absl::StatusOr<std::string> Exchange(int client, const std::string& request) {
  GANTRY_RETURN_IF_ERROR(WriteAll(client, request));
  if (::shutdown(client, SHUT_WR) != 0) return LastErrno("shutdown");
  return ReadAll(client);
}

// Serves one connection: reads the request up to EOF (the client's
// half-close), answers "reply:<size>:<first bytes>" and closes.
std::thread ServeOnce(int listener, std::string* peer, absl::Status* status) {
  return std::thread([=] {
    absl::StatusOr<UniqueFd> conn = Accept(listener);
    if (!conn.ok()) {
      *status = conn.status();
      return;
    }
    *peer = PeerAddress(conn->get());
    absl::StatusOr<std::string> request = ReadAll(conn->get());
    if (!request.ok()) {
      *status = request.status();
      return;
    }
    *status =
        WriteAll(conn->get(), absl::StrCat("reply:", request->size(), ":", request->substr(0, 5)));
  });
}

bool HasMountUnder(const std::string& path) {
  absl::StatusOr<std::string> mountinfo = gantry::ReadFile("/proc/self/mountinfo");
  return mountinfo.ok() && absl::StrContains(*mountinfo, path);
}

// The throwaway world of one test: namespaces under a temporary directory and
// link names unique to this process. Its destructor takes the namespaces
// down, and the links in them with them.
class Sandbox {
 public:
  Sandbox() {
    for (const char* name : {"host", "container", "client", "other"}) {
      auto ns = net::ScopedNetworkNamespace::Create(absl::StrCat(dir_.path(), "/netns/", name));
      REQUIRE_OK(ns);
      namespaces_.push_back(std::move(*ns));
    }
    REQUIRE_OK(InHost([] {
      GANTRY_ASSIGN_OR_RETURN(net::Netlink nl, net::Netlink::Open());
      return nl.SetUp("lo");
    }));
  }

  const std::string& dir() const { return dir_.path(); }
  const std::string& host() const { return namespaces_[0].path(); }
  const std::string& container() const { return namespaces_[1].path(); }
  const std::string& client() const { return namespaces_[2].path(); }
  // A second container, for a second network.
  const std::string& other() const { return namespaces_[3].path(); }
  absl::Status InHost(const std::function<absl::Status()>& fn) {
    return net::RunInNetworkNamespace(host(), fn);
  }

  // gt<pid><suffix>: at most 15 bytes for any pid.
  std::string Link(absl::string_view suffix) const { return absl::StrCat(prefix_, suffix); }
  const std::string& prefix() const { return prefix_; }

  // Network `n`: the bridge gt<pid>b<n> with 10.213.<n>.1/24 in the host
  // namespace, and `ns`'s eth0 10.213.<n>.2/24 on it (through the veth
  // gt<pid>v<n>h / gt<pid>v<n>c) with a default route via the bridge.
  std::string Bridge(int n) const { return Link(absl::StrCat("b", n)); }
  std::string VethHost(int n) const { return Link(absl::StrCat("v", n, "h")); }
  std::string VethPeer(int n) const { return Link(absl::StrCat("v", n, "c")); }
  absl::Status ConnectContainer(const std::string& ns, int n) {
    GANTRY_ASSIGN_OR_RETURN(UniqueFd container_ns, net::OpenNetworkNamespace(ns));
    const std::string gateway = absl::StrCat("10.213.", n, ".1");
    GANTRY_RETURN_IF_ERROR(InHost([&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(net::Netlink nl, net::Netlink::Open());
      GANTRY_RETURN_IF_ERROR(nl.CreateBridge(Bridge(n), 1500));
      GANTRY_RETURN_IF_ERROR(nl.AddAddress(Bridge(n), Cidr((gateway + "/24").c_str())));
      GANTRY_RETURN_IF_ERROR(nl.SetUp(Bridge(n)));
      GANTRY_RETURN_IF_ERROR(nl.CreateVethPair(VethHost(n), VethPeer(n), 1500));
      GANTRY_RETURN_IF_ERROR(nl.AttachToBridge(VethHost(n), Bridge(n)));
      GANTRY_RETURN_IF_ERROR(nl.SetUp(VethHost(n)));
      return nl.MoveToNamespace(VethPeer(n), container_ns.get());
    }));
    const Ipv4Address address = A(absl::StrCat("10.213.", n, ".2").c_str());
    return net::RunInNetworkNamespace(ns, [&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(net::Netlink nl, net::Netlink::Open());
      GANTRY_RETURN_IF_ERROR(nl.Rename(VethPeer(n), "eth0"));
      GANTRY_RETURN_IF_ERROR(nl.SetMacAddress("eth0", net::MacAddressFor(address)));
      GANTRY_RETURN_IF_ERROR(nl.SetMtu("eth0", 1400));
      GANTRY_RETURN_IF_ERROR(nl.AddAddress("eth0", {address, 24}));
      GANTRY_RETURN_IF_ERROR(nl.SetUp("eth0"));
      GANTRY_RETURN_IF_ERROR(nl.SetUp("lo"));
      return nl.AddDefaultRoute(A(gateway.c_str()));
    });
  }
  absl::Status ConnectContainer() { return ConnectContainer(container(), 1); }

  // The client namespace as another machine: 10.213.2.2/24, linked to the
  // host namespace's 10.213.2.1/24, which forwards and is its default route.
  absl::Status ConnectClient() {
    GANTRY_ASSIGN_OR_RETURN(UniqueFd client_ns, net::OpenNetworkNamespace(client()));
    GANTRY_RETURN_IF_ERROR(InHost([&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(net::Netlink nl, net::Netlink::Open());
      GANTRY_RETURN_IF_ERROR(nl.CreateVethPair(Link("xh"), Link("xc"), 1500));
      GANTRY_RETURN_IF_ERROR(nl.AddAddress(Link("xh"), Cidr("10.213.2.1/24")));
      GANTRY_RETURN_IF_ERROR(nl.SetUp(Link("xh")));
      GANTRY_RETURN_IF_ERROR(nl.MoveToNamespace(Link("xc"), client_ns.get()));
      return net::EnableIpv4Forwarding();
    }));
    return net::RunInNetworkNamespace(client(), [&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(net::Netlink nl, net::Netlink::Open());
      GANTRY_RETURN_IF_ERROR(nl.AddAddress(Link("xc"), Cidr("10.213.2.2/24")));
      GANTRY_RETURN_IF_ERROR(nl.SetUp(Link("xc")));
      // Replies to un-masqueraded containers find their way back.
      return nl.AddDefaultRoute(A("10.213.2.1"));
    });
  }

 private:
  gantry::testing::TempDir dir_{"network-test"};
  std::string prefix_ = absl::StrCat("gt", ::getpid());
  std::vector<net::ScopedNetworkNamespace> namespaces_;
};

}  // namespace

TEST_CASE("a network namespace is bound at a path, entered by other threads, removed twice",
          "[netns]") {
  const int fds = CountOpenFds();
  gantry::testing::TempDir dir("network-test");
  const std::string path = dir.path() + "/netns/one";
  REQUIRE_OK(net::CreateNetworkNamespace(path));
  CHECK(absl::IsAlreadyExists(net::CreateNetworkNamespace(path)));
  CHECK(HasMountUnder(path));

  struct stat own {};
  REQUIRE(::stat("/proc/thread-self/ns/net", &own) == 0);
  struct stat inside {};
  REQUIRE_OK(net::RunInNetworkNamespace(path, [&]() -> absl::Status {
    if (::stat("/proc/thread-self/ns/net", &inside) != 0) return LastErrno("stat");
    return absl::OkStatus();
  }));
  struct stat bound {};
  REQUIRE(::stat(path.c_str(), &bound) == 0);
  CHECK(inside.st_ino == bound.st_ino);
  CHECK(inside.st_ino != own.st_ino);
  struct stat after {};
  REQUIRE(::stat("/proc/thread-self/ns/net", &after) == 0);
  CHECK(after.st_ino == own.st_ino);

  // An fd opened inside stays in that namespace: it sees only its own lo.
  auto socket = net::OpenSocketInNamespace(path, AF_INET, SOCK_STREAM);
  REQUIRE_OK(socket);
  CHECK((::fcntl(socket->get(), F_GETFD) & FD_CLOEXEC) != 0);
  sockaddr_in gateway = SocketAddress(A("10.213.1.1"), 80);
  CHECK(::connect(socket->get(), reinterpret_cast<sockaddr*>(&gateway), sizeof(gateway)) != 0);
  CHECK(errno == ENETUNREACH);
  socket->Reset();

  // The error names the namespace.
  absl::Status fails = net::RunInNetworkNamespace(path, [] { return absl::InternalError("boom"); });
  CHECK(fails.message() == "boom");
  absl::Status missing =
      net::RunInNetworkNamespace(dir.path() + "/none", [] { return absl::OkStatus(); });
  CHECK(absl::StrContains(missing.message(), dir.path() + "/none"));

  REQUIRE_OK(net::RemoveNetworkNamespace(path));
  REQUIRE_OK(net::RemoveNetworkNamespace(path));
  CHECK_FALSE(HasMountUnder(path));
  CHECK(::access(path.c_str(), F_OK) != 0);
  CHECK(CountOpenFds() == fds);
}

TEST_CASE("a container's eth0 on a bridge reaches the gateway over TCP", "[netlink]") {
  const int fds = CountOpenFds();
  {
    Sandbox sandbox;
    REQUIRE_OK(sandbox.ConnectContainer());

    // The container sees eth0 with its address and routes; the veth's
    // other name is gone from the host, whose routes show the bridge's subnet.
    std::vector<net::Ipv4Prefix> container_routes, host_routes;
    bool has_eth0 = false, host_has_peer = true, host_has_bridge = false;
    REQUIRE_OK(net::RunInNetworkNamespace(sandbox.container(), [&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(net::Netlink nl, net::Netlink::Open());
      GANTRY_ASSIGN_OR_RETURN(has_eth0, nl.LinkExists("eth0"));
      GANTRY_ASSIGN_OR_RETURN(container_routes, nl.Ipv4Routes());
      return absl::OkStatus();
    }));
    REQUIRE_OK(sandbox.InHost([&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(net::Netlink nl, net::Netlink::Open());
      GANTRY_ASSIGN_OR_RETURN(host_has_peer, nl.LinkExists(sandbox.VethPeer(1)));
      GANTRY_ASSIGN_OR_RETURN(host_has_bridge, nl.LinkExists(sandbox.Bridge(1)));
      GANTRY_ASSIGN_OR_RETURN(host_routes, nl.Ipv4Routes());
      // Creating what exists is refused by name.
      absl::Status again = nl.CreateBridge(sandbox.Bridge(1), 1500);
      if (!absl::IsAlreadyExists(again)) return absl::InternalError(again.ToString());
      absl::Status too_long = nl.CreateBridge("a-name-too-long-for-linux", 1500);
      if (!absl::IsInvalidArgument(too_long)) return absl::InternalError(too_long.ToString());
      return absl::OkStatus();
    }));
    CHECK(has_eth0);
    CHECK_FALSE(host_has_peer);
    CHECK(host_has_bridge);
    auto has_route = [](const std::vector<net::Ipv4Prefix>& routes, const char* prefix) {
      return std::find(routes.begin(), routes.end(), *net::Ipv4Prefix::Parse(prefix)) !=
             routes.end();
    };
    CHECK(has_route(container_routes, "0.0.0.0/0"));
    CHECK(has_route(container_routes, "10.213.1.0/24"));
    CHECK(has_route(host_routes, "10.213.1.0/24"));
    CHECK_FALSE(has_route(host_routes, "0.0.0.0/0"));

    auto listener = Listen(sandbox.host(), SOCK_STREAM, A("10.213.1.1"), 0);
    REQUIRE_OK(listener);
    std::string peer;
    absl::Status served;
    std::thread server = ServeOnce(listener->get(), &peer, &served);
    auto client =
        Connect(sandbox.container(), SOCK_STREAM, A("10.213.1.1"), LocalPort(listener->get()));
    absl::StatusOr<std::string> reply =
        client.ok() ? Exchange(client->get(), "hello from the container") : client.status();
    server.join();
    REQUIRE_OK(reply);
    REQUIRE_OK(served);
    CHECK(*reply == "reply:24:hello");
    CHECK(peer == "10.213.1.2");

    // Down, eth0 carries nothing (its routes go with it); up again, it does.
    auto set_eth0 = [&](bool up) {
      return net::RunInNetworkNamespace(sandbox.container(), [&]() -> absl::Status {
        GANTRY_ASSIGN_OR_RETURN(net::Netlink nl, net::Netlink::Open());
        return up ? nl.SetUp("eth0") : nl.SetDown("eth0");
      });
    };
    REQUIRE_OK(set_eth0(false));
    CHECK_FALSE(CanConnect(sandbox.container(), A("10.213.1.1"), LocalPort(listener->get())));
    REQUIRE_OK(set_eth0(true));
    CHECK(CanConnect(sandbox.container(), A("10.213.1.1"), LocalPort(listener->get())));

    // Deleting the host end takes the container's eth0 with it; twice is fine.
    REQUIRE_OK(sandbox.InHost([&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(net::Netlink nl, net::Netlink::Open());
      GANTRY_RETURN_IF_ERROR(nl.DeleteLink(sandbox.VethHost(1)));
      GANTRY_RETURN_IF_ERROR(nl.DeleteLink(sandbox.VethHost(1)));
      GANTRY_RETURN_IF_ERROR(nl.DeleteLink(sandbox.Bridge(1)));
      return nl.DeleteLink(sandbox.Bridge(1));
    }));
    REQUIRE_OK(net::RunInNetworkNamespace(sandbox.container(), [&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(net::Netlink nl, net::Netlink::Open());
      GANTRY_ASSIGN_OR_RETURN(has_eth0, nl.LinkExists("eth0"));
      return absl::OkStatus();
    }));
    CHECK_FALSE(has_eth0);
  }
  CHECK(CountOpenFds() == fds);
}

namespace {

int Occurrences(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("the gantry table: skeleton once, network and port rules, deleted by tag", "[nftables]") {
  const int fds = CountOpenFds();
  {
    Sandbox sandbox;
    const std::string bridge = sandbox.Bridge(1);
    std::vector<std::string> listings;
    absl::Status invalid_tag, invalid_protocol;
    REQUIRE_OK(sandbox.InHost([&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(auto firewall, net::Firewall::Open());
      GANTRY_ASSIGN_OR_RETURN(std::string before, firewall->Listing());
      listings.push_back(before);  // [0] no table yet
      GANTRY_RETURN_IF_ERROR(firewall->EnsureTable());
      GANTRY_RETURN_IF_ERROR(firewall->EnsureTable());
      GANTRY_ASSIGN_OR_RETURN(std::string skeleton, firewall->Listing());
      listings.push_back(skeleton);  // [1]
      GANTRY_RETURN_IF_ERROR(firewall->AddNetwork(
          {"net-1", bridge, *net::Ipv4Prefix::Parse("10.213.1.0/24"), /*internal=*/false}));
      GANTRY_RETURN_IF_ERROR(firewall->AddNetwork(
          {"net-2", sandbox.Bridge(3), *net::Ipv4Prefix::Parse("10.213.3.0/24"), true}));
      GANTRY_RETURN_IF_ERROR(firewall->AddPortMapping(
          {"ctr-1", "tcp", std::nullopt, 8080, A("10.213.1.2"), 80, bridge}));
      GANTRY_RETURN_IF_ERROR(firewall->AddPortMapping(
          {"ctr-1", "udp", A("10.213.2.1"), 5353, A("10.213.1.2"), 53, ""}));
      GANTRY_ASSIGN_OR_RETURN(std::string full, firewall->Listing());
      listings.push_back(full);  // [2]
      GANTRY_RETURN_IF_ERROR(firewall->DeleteRulesTagged("ctr-1"));
      GANTRY_RETURN_IF_ERROR(firewall->DeleteRulesTagged("ctr-1"));
      GANTRY_ASSIGN_OR_RETURN(std::string no_ports, firewall->Listing());
      listings.push_back(no_ports);  // [3]
      GANTRY_RETURN_IF_ERROR(firewall->DeleteRulesTagged("net-1"));
      GANTRY_RETURN_IF_ERROR(firewall->DeleteRulesTagged("net-2"));
      GANTRY_RETURN_IF_ERROR(firewall->EnsureTable());
      GANTRY_ASSIGN_OR_RETURN(std::string emptied, firewall->Listing());
      listings.push_back(emptied);  // [4]
      invalid_tag = firewall->DeleteRulesTagged("a\" ; flush ruleset");
      invalid_protocol =
          firewall->AddPortMapping({"ctr-2", "sctp", std::nullopt, 1, A("10.213.1.2"), 1, ""});
      GANTRY_RETURN_IF_ERROR(firewall->Reset());
      GANTRY_RETURN_IF_ERROR(firewall->Reset());
      GANTRY_ASSIGN_OR_RETURN(std::string reset, firewall->Listing());
      listings.push_back(reset);  // [5]
      return absl::OkStatus();
    }));
    INFO(listings[2]);
    CHECK(listings[0].empty());
    for (const char* chain :
         {"chain prerouting", "chain output", "chain postrouting", "chain port-mappings",
          "chain forward", "chain isolation-stage-1", "chain isolation-stage-2"}) {
      CHECK(absl::StrContains(listings[1], chain));
    }
    // Ensured twice, the skeleton is there once.
    CHECK(Occurrences(listings[1], "jump port-mappings") == 2);
    CHECK(Occurrences(listings[1], "jump isolation-stage-1") == 1);

    const std::string br = absl::StrCat("\"", bridge, "\"");
    CHECK(absl::StrContains(listings[2], absl::StrCat("ip saddr 10.213.1.0/24 oifname != ", br,
                                                      " masquerade comment \"net-1\"")));
    CHECK(absl::StrContains(
        listings[2], absl::StrCat("iifname != ", br, " tcp dport 8080 dnat to 10.213.1.2:80")));
    CHECK(
        absl::StrContains(listings[2], "ip daddr 10.213.2.1 udp dport 5353 dnat to 10.213.1.2:53"));
    CHECK(absl::StrContains(listings[2], absl::StrCat("oifname ", br, " drop comment \"net-1\"")));
    // The internal network is not masqueraded, and drops what leaves its bridge.
    CHECK(Occurrences(listings[2], "masquerade") == 1);
    CHECK(absl::StrContains(listings[2],
                            absl::StrCat("iifname \"", sandbox.Bridge(3), "\" oifname != \"",
                                         sandbox.Bridge(3), "\" drop comment \"net-2\"")));

    CHECK_FALSE(absl::StrContains(listings[3], "dnat to"));
    CHECK(absl::StrContains(listings[3], "masquerade"));
    CHECK(listings[4] == listings[1]);
    CHECK(absl::IsInvalidArgument(invalid_tag));
    CHECK(absl::IsInvalidArgument(invalid_protocol));
    CHECK(listings[5].empty());
  }
  CHECK(CountOpenFds() == fds);
}

TEST_CASE("published ports: DNAT from another machine and from the host, masquerade out",
          "[nftables]") {
  const int fds = CountOpenFds();
  {
    Sandbox sandbox;
    REQUIRE_OK(sandbox.ConnectContainer());
    REQUIRE_OK(sandbox.ConnectClient());
    const std::string bridge = sandbox.Bridge(1);
    REQUIRE_OK(sandbox.InHost([&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(auto firewall, net::Firewall::Open());
      GANTRY_RETURN_IF_ERROR(firewall->EnsureTable());
      GANTRY_RETURN_IF_ERROR(
          firewall->AddNetwork({"net-1", bridge, *net::Ipv4Prefix::Parse("10.213.1.0/24"), false}));
      return firewall->AddPortMapping(
          {"ctr-1", "tcp", std::nullopt, 8080, A("10.213.1.2"), 80, bridge});
    }));
    auto server = Listen(sandbox.container(), SOCK_STREAM, A("0.0.0.0"), 80);
    REQUIRE_OK(server);

    SECTION("from the client namespace, through prerouting") {
      std::string peer;
      absl::Status served;
      std::thread serve = ServeOnce(server->get(), &peer, &served);
      auto client = Connect(sandbox.client(), SOCK_STREAM, A("10.213.2.1"), 8080);
      absl::StatusOr<std::string> reply =
          client.ok() ? Exchange(client->get(), "outside") : client.status();
      serve.join();
      REQUIRE_OK(reply);
      REQUIRE_OK(served);
      CHECK(*reply == "reply:7:outsi");
      CHECK(peer == "10.213.2.2");  // DNAT keeps the client's address
    }

    SECTION("from the host itself to its own address, through output") {
      std::string peer;
      absl::Status served;
      std::thread serve = ServeOnce(server->get(), &peer, &served);
      auto client = Connect(sandbox.host(), SOCK_STREAM, A("10.213.2.1"), 8080);
      absl::StatusOr<std::string> reply =
          client.ok() ? Exchange(client->get(), "local") : client.status();
      serve.join();
      REQUIRE_OK(reply);
      REQUIRE_OK(served);
      CHECK(*reply == "reply:5:local");
    }

    SECTION("the container's outbound traffic leaves with the host's address") {
      auto outside = Listen(sandbox.client(), SOCK_STREAM, A("10.213.2.2"), 9000);
      REQUIRE_OK(outside);
      std::string peer;
      absl::Status served;
      std::thread serve = ServeOnce(outside->get(), &peer, &served);
      auto client = Connect(sandbox.container(), SOCK_STREAM, A("10.213.2.2"), 9000);
      absl::StatusOr<std::string> reply =
          client.ok() ? Exchange(client->get(), "egress") : client.status();
      serve.join();
      REQUIRE_OK(reply);
      REQUIRE_OK(served);
      CHECK(peer == "10.213.2.1");
    }

    SECTION("once the mapping's rules are deleted, the port is closed") {
      REQUIRE_OK(sandbox.InHost([&]() -> absl::Status {
        GANTRY_ASSIGN_OR_RETURN(auto firewall, net::Firewall::Open());
        return firewall->DeleteRulesTagged("ctr-1");
      }));
      auto client = Connect(sandbox.client(), SOCK_STREAM, A("10.213.2.1"), 8080);
      INFO(client.status().ToString());
      CHECK(absl::StrContains(client.status().message(), "refused"));
    }
  }
  CHECK(CountOpenFds() == fds);
}

TEST_CASE("bridge networks are isolated from each other; an internal one reaches nothing outside",
          "[nftables]") {
  const int fds = CountOpenFds();
  {
    Sandbox sandbox;
    REQUIRE_OK(sandbox.ConnectContainer(sandbox.container(), 1));
    REQUIRE_OK(sandbox.ConnectContainer(sandbox.other(), 3));
    REQUIRE_OK(sandbox.ConnectClient());
    auto in_other = Listen(sandbox.other(), SOCK_STREAM, A("10.213.3.2"), 80);
    REQUIRE_OK(in_other);
    auto outside = Listen(sandbox.client(), SOCK_STREAM, A("10.213.2.2"), 80);
    REQUIRE_OK(outside);

    // Without gantry's rules the host forwards between the two bridges and out.
    CHECK(CanConnect(sandbox.container(), A("10.213.3.2"), 80));
    CHECK(CanConnect(sandbox.other(), A("10.213.2.2"), 80));

    REQUIRE_OK(sandbox.InHost([&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(auto firewall, net::Firewall::Open());
      GANTRY_RETURN_IF_ERROR(firewall->EnsureTable());
      GANTRY_RETURN_IF_ERROR(firewall->AddNetwork(
          {"net-1", sandbox.Bridge(1), *net::Ipv4Prefix::Parse("10.213.1.0/24"), false}));
      return firewall->AddNetwork(
          {"net-3", sandbox.Bridge(3), *net::Ipv4Prefix::Parse("10.213.3.0/24"), true});
    }));
    CHECK_FALSE(CanConnect(sandbox.container(), A("10.213.3.2"), 80));
    CHECK_FALSE(CanConnect(sandbox.other(), A("10.213.1.2"), 80));
    CHECK(CanConnect(sandbox.container(), A("10.213.2.2"), 80));
    CHECK_FALSE(CanConnect(sandbox.other(), A("10.213.2.2"), 80));

    // The networks' rules gone, traffic flows again.
    REQUIRE_OK(sandbox.InHost([&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(auto firewall, net::Firewall::Open());
      GANTRY_RETURN_IF_ERROR(firewall->DeleteRulesTagged("net-1"));
      return firewall->DeleteRulesTagged("net-3");
    }));
    CHECK(CanConnect(sandbox.container(), A("10.213.3.2"), 80));
  }
  CHECK(CountOpenFds() == fds);
}

TEST_CASE("the userland proxy relays TCP with half-close and UDP, then frees its port",
          "[port_proxy]") {
  const int fds = CountOpenFds();
  {
    Sandbox sandbox;
    REQUIRE_OK(sandbox.ConnectContainer());

    // The io_context runs in the host namespace, where engined would run it.
    boost::asio::io_context io;
    auto work = boost::asio::make_work_guard(io);
    std::thread io_thread([&] {
      (void)net::RunInNetworkNamespace(sandbox.host(), [&] {
        io.run();
        return absl::OkStatus();
      });
    });

    std::unique_ptr<net::PortProxy> tcp_proxy, udp_proxy;
    absl::Status port_taken;
    REQUIRE_OK(sandbox.InHost([&]() -> absl::Status {
      GANTRY_ASSIGN_OR_RETURN(
          tcp_proxy, net::PortProxy::Start(io, {"tcp", A("127.0.0.1"), 0, A("10.213.1.2"), 80}));
      GANTRY_ASSIGN_OR_RETURN(
          udp_proxy, net::PortProxy::Start(io, {"udp", A("127.0.0.1"), 0, A("10.213.1.2"), 53,
                                                std::chrono::milliseconds(300)}));
      port_taken = net::PortProxy::Start(
                       io, {"tcp", A("127.0.0.1"), tcp_proxy->host_port(), A("10.213.1.2"), 80})
                       .status();
      return absl::OkStatus();
    }));
    CHECK(tcp_proxy->host_port() != 0);
    CHECK(udp_proxy->host_port() != 0);
    CHECK(absl::StrContains(port_taken.message(), "bind: Address already in use"));

    // TCP: a large request, half-closed, then the container's reply.
    auto server = Listen(sandbox.container(), SOCK_STREAM, A("10.213.1.2"), 80);
    REQUIRE_OK(server);
    for (int round = 0; round < 2; ++round) {
      std::string peer;
      absl::Status served;
      std::thread serve = ServeOnce(server->get(), &peer, &served);
      auto client = Connect(sandbox.host(), SOCK_STREAM, A("127.0.0.1"), tcp_proxy->host_port());
      const std::string request(1 << 20, 'x');
      absl::StatusOr<std::string> reply =
          client.ok() ? Exchange(client->get(), request) : client.status();
      serve.join();
      REQUIRE_OK(reply);
      REQUIRE_OK(served);
      CHECK(*reply == "reply:1048576:xxxxx");
      CHECK(peer == "10.213.1.1");  // the proxy connects from the host side
    }

    // UDP: a datagram and its answer, per client.
    auto udp_server = Listen(sandbox.container(), SOCK_DGRAM, A("10.213.1.2"), 53);
    REQUIRE_OK(udp_server);
    std::thread echo([fd = udp_server->get()] {
      for (int i = 0; i < 3; ++i) {
        char buffer[2048];
        sockaddr_in from{};
        socklen_t size = sizeof(from);
        ssize_t n =
            ::recvfrom(fd, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&from), &size);
        if (n < 0) return;
        std::string reply = "echo:" + std::string(buffer, n);
        ::sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), size);
      }
    });
    std::vector<std::string> answers;
    for (const char* message : {"one", "two"}) {
      auto client = Connect(sandbox.host(), SOCK_DGRAM, A("127.0.0.1"), udp_proxy->host_port());
      REQUIRE_OK(client);
      REQUIRE(::send(client->get(), message, strlen(message), 0) > 0);
      char buffer[2048];
      ssize_t n = ::recv(client->get(), buffer, sizeof(buffer), 0);
      answers.push_back(n > 0 ? std::string(buffer, n) : "error");
      if (answers.size() == 1) {
        // Past the idle timeout the flow is gone; the same client starts a new one.
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        REQUIRE(::send(client->get(), "three", 5, 0) > 0);
        n = ::recv(client->get(), buffer, sizeof(buffer), 0);
        answers.push_back(n > 0 ? std::string(buffer, n) : "error");
      }
    }
    echo.join();
    // The proxy's listeners, flows and the io_context's own fds are all CLOEXEC.
    {
      auto fds_left = NewInheritableFds();
      INFO(absl::StrJoin(fds_left, ", "));
      CHECK(fds_left.empty());
    }
    CHECK(answers == std::vector<std::string>{"echo:one", "echo:three", "echo:two"});

    // Stopped, the proxy closes its listener, so the port refuses
    // connections, and the connections it relays, so both ends see EOF.
    const uint16_t tcp_port = tcp_proxy->host_port();
    auto held = Connect(sandbox.host(), SOCK_STREAM, A("127.0.0.1"), tcp_port);
    REQUIRE_OK(held);
    auto held_upstream = Accept(server->get());
    REQUIRE_OK(held_upstream);
    tcp_proxy->Stop();
    char byte = 0;
    CHECK(::recv(held->get(), &byte, 1, 0) == 0);
    CHECK(::recv(held_upstream->get(), &byte, 1, 0) == 0);
    tcp_proxy->Stop();
    udp_proxy.reset();
    auto refused = Connect(sandbox.host(), SOCK_STREAM, A("127.0.0.1"), tcp_port);
    CHECK(absl::StrContains(refused.status().message(), "refused"));
    tcp_proxy.reset();

    work.reset();
    io.stop();
    io_thread.join();
  }
  CHECK(CountOpenFds() == fds);
}

// Whether the host had a gantry table before these tests ran (an engined
// running on the machine has one): only a table the tests made is a leak.
const bool kHostHadGantryTable = [] {
  auto firewall = gantry::engined::network::Firewall::Open();
  if (!firewall.ok()) return false;
  auto listing = (*firewall)->Listing();
  return listing.ok() && !listing->empty();
}();

TEST_CASE("nothing is left behind: no netns mounts, no test links, no gantry table on the host",
          "[leaks]") {
  CHECK_FALSE(HasMountUnder("/tmp/gantry-network-test-"));
  auto nl = net::Netlink::Open();
  REQUIRE_OK(nl);
  auto links = nl->LinkNames();
  REQUIRE_OK(links);
  const std::string prefix = absl::StrCat("gt", ::getpid());
  for (const std::string& link : *links) CHECK_FALSE(absl::StartsWith(link, prefix));
  auto firewall = net::Firewall::Open();
  REQUIRE_OK(firewall);
  auto listing = (*firewall)->Listing();
  REQUIRE_OK(listing);
  if (!kHostHadGantryTable) CHECK(listing->empty());
  // libnl's and libnftables' sockets do not leak into children.
  {
    auto fds_left = NewInheritableFds();
    INFO(absl::StrJoin(fds_left, ", "));
    CHECK(fds_left.empty());
  }
}
