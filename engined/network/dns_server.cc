#include "engined/network/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <future>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/file_util.h"

namespace gantry::engined::network {
namespace {

using boost::asio::ip::udp;

constexpr uint16_t kFlagResponse = 0x8000;
constexpr uint16_t kFlagRecursionDesired = 0x0100;
constexpr uint16_t kFlagRecursionAvailable = 0x0080;
constexpr uint16_t kRcodeServerFailure = 2;
constexpr auto kForwardTimeout = std::chrono::seconds(3);

uint16_t Read16(const std::string& m, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(m[at]) << 8) |
                               static_cast<uint8_t>(m[at + 1]));
}
void Append16(std::string& m, uint16_t v) {
  m.push_back(static_cast<char>(v >> 8));
  m.push_back(static_cast<char>(v & 0xff));
}
void Write16(std::string& m, size_t at, uint16_t v) {
  m[at] = static_cast<char>(v >> 8);
  m[at + 1] = static_cast<char>(v & 0xff);
}

// The query's header and question, with flags and counts of a reply.
std::string ReplyHeader(const std::string& query, const DnsQuestion& q, uint16_t rcode,
                        uint16_t answers) {
  std::string reply = query.substr(0, q.question_end);
  Write16(reply, 2,
          kFlagResponse | (q.flags & kFlagRecursionDesired) | kFlagRecursionAvailable | rcode);
  Write16(reply, 4, 1);
  Write16(reply, 6, answers);
  Write16(reply, 8, 0);
  Write16(reply, 10, 0);
  return reply;
}

}  // namespace

absl::StatusOr<DnsQuestion> ParseDnsQuestion(const std::string& m) {
  if (m.size() < 12) return absl::InvalidArgumentError("dns: message shorter than its header");
  DnsQuestion q;
  q.id = Read16(m, 0);
  q.flags = Read16(m, 2);
  if ((q.flags & kFlagResponse) != 0 || ((q.flags >> 11) & 0xf) != 0) {
    return absl::InvalidArgumentError("dns: not a standard query");
  }
  if (Read16(m, 4) != 1) return absl::InvalidArgumentError("dns: not one question");
  size_t at = 12;
  std::vector<std::string> labels;
  while (true) {
    if (at >= m.size()) return absl::InvalidArgumentError("dns: name runs past the message");
    const uint8_t length = static_cast<uint8_t>(m[at++]);
    if (length == 0) break;
    if (length > 63 || at + length > m.size()) {
      return absl::InvalidArgumentError("dns: bad label in the question");
    }
    labels.push_back(absl::AsciiStrToLower(m.substr(at, length)));
    at += length;
  }
  if (at + 4 > m.size()) return absl::InvalidArgumentError("dns: question without type");
  q.name = absl::StrJoin(labels, ".");
  q.type = Read16(m, at);
  q.klass = Read16(m, at + 2);
  q.question_end = at + 4;
  return q;
}

std::string DnsAnswer(const std::string& query, const DnsQuestion& q,
                      std::optional<Ipv4Address> address) {
  std::string reply = ReplyHeader(query, q, 0, address ? 1 : 0);
  if (address) {
    Append16(reply, 0xc00c);  // the name: a pointer to the question's
    Append16(reply, kDnsTypeA);
    Append16(reply, 1);  // IN
    Append16(reply, 0);  // TTL 600, as dockerd's
    Append16(reply, 600);
    Append16(reply, 4);
    const uint32_t v = address->value();
    for (int shift : {24, 16, 8, 0}) reply.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  return reply;
}

struct DnsServer::State : std::enable_shared_from_this<DnsServer::State> {
  State(boost::asio::io_context& io, DnsLookup lookup, std::vector<Ipv4Address> upstreams)
      : io(io),
        strand(boost::asio::make_strand(io)),
        socket(strand),
        lookup(std::move(lookup)),
        upstreams(std::move(upstreams)) {}

  boost::asio::io_context& io;
  boost::asio::strand<boost::asio::io_context::executor_type> strand;
  udp::socket socket;
  DnsLookup lookup;
  std::vector<Ipv4Address> upstreams;
  std::array<char, 4096> buffer{};
  udp::endpoint client;

  void Receive() {
    socket.async_receive_from(
        boost::asio::buffer(buffer), client,
        [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          if (ec == boost::asio::error::operation_aborted || !self->socket.is_open()) {
            return;
          }
          if (!ec) self->Handle(std::string(self->buffer.data(), n));
          self->Receive();
        });
  }

  void Reply(const udp::endpoint& to, std::string message) {
    auto data = std::make_shared<std::string>(std::move(message));
    socket.async_send_to(boost::asio::buffer(*data), to,
                         [data, self = shared_from_this()](boost::system::error_code, size_t) {});
  }

  void Handle(std::string query) {
    absl::StatusOr<DnsQuestion> q = ParseDnsQuestion(query);
    if (!q.ok()) return;  // not a query: dropped, as resolvers do
    std::optional<Ipv4Address> peer = lookup(q->name);
    if (peer) {
      // A peer's name: its IPv4 address, and no IPv6 one.
      Reply(client, DnsAnswer(query, *q, q->type == kDnsTypeA ? peer : std::nullopt));
      return;
    }
    Forward(client, std::move(query), *q);
  }

  // Relays the query to the first upstream and its reply back; SERVFAIL
  // when there is none or it does not answer in time.
  void Forward(udp::endpoint to, std::string query, const DnsQuestion& q) {
    const std::string failure = ReplyHeader(query, q, kRcodeServerFailure, 0);
    if (upstreams.empty()) {
      Reply(to, failure);
      return;
    }
    auto upstream = std::make_shared<udp::socket>(strand);
    boost::system::error_code ec;
    upstream->open(udp::v4(), ec);
    if (ec) {
      Reply(to, failure);
      return;
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(strand, kForwardTimeout);
    auto answer = std::make_shared<std::array<char, 4096>>();
    auto data = std::make_shared<std::string>(std::move(query));
    const udp::endpoint server(boost::asio::ip::address_v4(upstreams.front().value()), 53);
    // Connected: only the server's datagrams are received; and the answer
    // must carry the question's ID.
    upstream->connect(server, ec);
    if (ec) {
      Reply(to, failure);
      return;
    }
    upstream->async_send(boost::asio::buffer(*data), [data](boost::system::error_code, size_t) {});
    upstream->async_receive(
        boost::asio::buffer(*answer), [self = shared_from_this(), upstream, timer, answer, to,
                                       failure, id = q.id](boost::system::error_code ec, size_t n) {
          timer->cancel();
          const bool valid = !ec && n >= 12 && Read16(std::string(answer->data(), 2), 0) == id;
          self->Reply(to, valid ? std::string(answer->data(), n) : failure);
        });
    timer->async_wait([upstream](boost::system::error_code ec) {
      if (!ec) upstream->close();  // the receive ends with an error: SERVFAIL
    });
  }
};

absl::StatusOr<std::unique_ptr<DnsServer>> DnsServer::Start(boost::asio::io_context& io,
                                                            UniqueFd socket_fd, DnsLookup lookup,
                                                            std::vector<Ipv4Address> upstreams) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(53);
  address.sin_addr.s_addr = htonl(0x7f00000b);  // 127.0.0.11
  if (::bind(socket_fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return LastErrno("dns: bind 127.0.0.11:53");
  }
  auto state = std::make_shared<State>(io, std::move(lookup), std::move(upstreams));
  boost::system::error_code ec;
  state->socket.assign(udp::v4(), socket_fd.get(), ec);
  if (ec) return absl::InternalError(absl::StrCat("dns: ", ec.message()));
  (void)socket_fd.Release();
  boost::asio::post(state->strand, [state] { state->Receive(); });
  return std::unique_ptr<DnsServer>(new DnsServer(std::move(state)));
}

DnsServer::~DnsServer() {
  // Closed on its strand, so no handler runs concurrently; directly when
  // the io_context no longer runs (engined stopping).
  if (state_->io.stopped()) {
    boost::system::error_code ec;
    state_->socket.close(ec);
    return;
  }
  std::promise<void> closed;
  boost::asio::post(state_->strand, [state = state_, &closed] {
    boost::system::error_code ec;
    state->socket.close(ec);
    closed.set_value();
  });
  closed.get_future().wait();
}

std::vector<Ipv4Address> HostNameservers(const std::string& path) {
  std::vector<Ipv4Address> servers;
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return servers;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "nameserver")) continue;
    absl::StatusOr<Ipv4Address> address = Ipv4Address::Parse(absl::StripAsciiWhitespace(line));
    if (address.ok()) servers.push_back(*address);
  }
  return servers;
}

}  // namespace gantry::engined::network
