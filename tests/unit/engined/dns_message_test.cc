// The embedded DNS server's message handling: queries parsed, answers built
// as resolvers expect them (checked byte by byte).
#include <catch2/catch.hpp>

#include "engined/network/dns_server.h"

namespace {

using gantry::engined::network::DnsAnswer;
using gantry::engined::network::Ipv4Address;
using gantry::engined::network::ParseDnsQuestion;

// A query for `labels` of `type`, id 0x1234, recursion desired.
std::string Query(std::vector<std::string> labels, uint16_t type) {
  std::string m = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  for (const std::string& label : labels) {
    m.push_back(static_cast<char>(label.size()));
    m += label;
  }
  m.push_back(0);
  m += {static_cast<char>(type >> 8), static_cast<char>(type & 0xff), 0, 1};
  return m;
}

}  // namespace

TEST_CASE("DNS questions are parsed, names lower-cased", "[dns]") {
  auto q = ParseDnsQuestion(Query({"Web", "appnet"}, 1));
  REQUIRE(q.ok());
  CHECK(q->id == 0x1234);
  CHECK(q->name == "web.appnet");
  CHECK(q->type == 1);
  CHECK(q->question_end == 12 + 1 + 3 + 1 + 6 + 1 + 4);

  CHECK(!ParseDnsQuestion("short").ok());
  std::string response = Query({"web"}, 1);
  response[2] = static_cast<char>(0x81);  // QR set: an answer, not a query
  CHECK(!ParseDnsQuestion(response).ok());
  std::string truncated = Query({"web"}, 1);
  truncated.resize(truncated.size() - 3);
  CHECK(!ParseDnsQuestion(truncated).ok());
  std::string bad_label = Query({"web"}, 1);
  bad_label[12] = 60;  // a label running past the end
  CHECK(!ParseDnsQuestion(bad_label).ok());
}

TEST_CASE("A answers carry the address; others none", "[dns]") {
  const std::string query = Query({"web"}, 1);
  auto q = ParseDnsQuestion(query);
  REQUIRE(q.ok());
  const std::string answer = DnsAnswer(query, *q, *Ipv4Address::Parse("172.18.0.2"));
  // Header: same id, QR|RD|RA, NOERROR, 1 question, 1 answer.
  CHECK(answer.substr(0, 12) == std::string({0x12, 0x34, static_cast<char>(0x81),
                                             static_cast<char>(0x80), 0, 1, 0, 1, 0, 0, 0, 0}));
  CHECK(answer.substr(12, q->question_end - 12) == query.substr(12));
  const std::string record = answer.substr(q->question_end);
  CHECK(record == std::string({static_cast<char>(0xc0), 0x0c, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4,
                               static_cast<char>(172), 18, 0, 2}));

  const std::string none = DnsAnswer(query, *q, std::nullopt);
  CHECK(none.size() == q->question_end);
  CHECK(none[7] == 0);  // no answer
}
