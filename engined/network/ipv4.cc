#include "engined/network/ipv4.h"

#include <arpa/inet.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gantry::engined::network {
namespace {

absl::StatusOr<int> ParsePrefixLength(absl::string_view text, absl::string_view whole) {
  int length = 0;
  if (!absl::SimpleAtoi(text, &length) || length < 0 || length > 32 ||
      text.find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid CIDR address \"", whole, "\": prefix length must be 0..32"));
  }
  return length;
}

// Splits "address/length"; both halves required.
absl::StatusOr<std::pair<Ipv4Address, int>> ParseCidr(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  if (parts.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid CIDR address \"", text, "\": expected a.b.c.d/n"));
  }
  absl::StatusOr<Ipv4Address> address = Ipv4Address::Parse(parts[0]);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid CIDR address \"", text, "\": ", address.status().message()));
  }
  absl::StatusOr<int> length = ParsePrefixLength(parts[1], text);
  if (!length.ok()) return length.status();
  return std::make_pair(*address, *length);
}

}  // namespace

absl::StatusOr<Ipv4Address> Ipv4Address::Parse(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat("invalid IPv4 address \"", text, "\""));
  };
  if (parts.size() != 4) return invalid();
  uint32_t value = 0;
  for (absl::string_view part : parts) {
    uint32_t octet = 0;
    if (part.empty() || part.size() > 3 ||
        part.find_first_not_of("0123456789") != absl::string_view::npos ||
        !absl::SimpleAtoi(part, &octet) || octet > 255) {
      return invalid();
    }
    value = (value << 8) | octet;
  }
  return Ipv4Address(value);
}

uint32_t Ipv4Address::network_order() const { return htonl(value_); }

std::string Ipv4Address::ToString() const {
  return absl::StrCat(value_ >> 24, ".", (value_ >> 16) & 0xff, ".", (value_ >> 8) & 0xff, ".",
                      value_ & 0xff);
}

Ipv4Prefix Ipv4Prefix::Containing(Ipv4Address address, int length) {
  Ipv4Prefix prefix;
  prefix.length_ = length;
  prefix.base_ = Ipv4Address(address.value() & prefix.mask());
  return prefix;
}

absl::StatusOr<Ipv4Prefix> Ipv4Prefix::Parse(absl::string_view text) {
  absl::StatusOr<std::pair<Ipv4Address, int>> cidr = ParseCidr(text);
  if (!cidr.ok()) return cidr.status();
  Ipv4Prefix prefix = Containing(cidr->first, cidr->second);
  if (prefix.base() != cidr->first) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid subnet \"", text, "\": it must be ", prefix.ToString()));
  }
  return prefix;
}

uint32_t Ipv4Prefix::mask() const { return length_ == 0 ? 0 : ~uint32_t{0} << (32 - length_); }

Ipv4Address Ipv4Prefix::last() const { return Ipv4Address(base_.value() | ~mask()); }

std::string Ipv4Prefix::ToString() const { return absl::StrCat(base_.ToString(), "/", length_); }

bool Ipv4Prefix::Contains(Ipv4Address address) const {
  return (address.value() & mask()) == base_.value();
}

bool Ipv4Prefix::Contains(const Ipv4Prefix& other) const {
  return other.length_ >= length_ && Contains(other.base_);
}

bool Ipv4Prefix::Overlaps(const Ipv4Prefix& other) const {
  return Contains(other.base_) || other.Contains(base_);
}

absl::StatusOr<Ipv4InterfaceAddress> Ipv4InterfaceAddress::Parse(absl::string_view text) {
  absl::StatusOr<std::pair<Ipv4Address, int>> cidr = ParseCidr(text);
  if (!cidr.ok()) return cidr.status();
  return Ipv4InterfaceAddress{cidr->first, cidr->second};
}

std::string Ipv4InterfaceAddress::ToString() const {
  return absl::StrCat(address.ToString(), "/", prefix_length);
}

}  // namespace gantry::engined::network
