// IPv4 addresses and prefixes as values: parsed from and formatted to the
// dotted forms daemon.json, the Docker API and nft use.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gantry::engined::network {

class Ipv4Address {
 public:
  constexpr Ipv4Address() = default;
  // `value` in host byte order (10.0.0.1 is 0x0a000001).
  constexpr explicit Ipv4Address(uint32_t value) : value_(value) {}

  // "a.b.c.d", each part a decimal 0..255.
  static absl::StatusOr<Ipv4Address> Parse(absl::string_view text);

  uint32_t value() const { return value_; }
  // In network byte order, as struct in_addr holds it.
  uint32_t network_order() const;
  std::string ToString() const;

  auto operator<=>(const Ipv4Address&) const = default;

 private:
  uint32_t value_ = 0;
};

// A subnet: its base address (host bits zero) and prefix length.
class Ipv4Prefix {
 public:
  Ipv4Prefix() = default;
  // The subnet of `length` bits that holds `address` (host bits cleared).
  static Ipv4Prefix Containing(Ipv4Address address, int length);
  // "a.b.c.d/n"; host bits must be zero ("172.20.0.1/16" is refused, as
  // Docker refuses it), and n is 0..32.
  static absl::StatusOr<Ipv4Prefix> Parse(absl::string_view text);

  Ipv4Address base() const { return base_; }
  int length() const { return length_; }
  uint32_t mask() const;
  Ipv4Address last() const;  // the broadcast address for a subnet
  uint64_t size() const { return uint64_t{1} << (32 - length_); }
  std::string ToString() const;

  bool Contains(Ipv4Address address) const;
  bool Contains(const Ipv4Prefix& other) const;
  bool Overlaps(const Ipv4Prefix& other) const;

  auto operator<=>(const Ipv4Prefix&) const = default;

 private:
  Ipv4Address base_;
  int length_ = 0;
};

// An address on an interface with its subnet's length: "10.0.0.2/24".
struct Ipv4InterfaceAddress {
  Ipv4Address address;
  int prefix_length = 32;

  static absl::StatusOr<Ipv4InterfaceAddress> Parse(absl::string_view text);
  Ipv4Prefix subnet() const { return Ipv4Prefix::Containing(address, prefix_length); }
  std::string ToString() const;
};

}  // namespace gantry::engined::network
