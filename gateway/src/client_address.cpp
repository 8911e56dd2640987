#include "client_address.hpp"

#include <algorithm>
#include <array>

namespace hibiki::gateway {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<net::ip::address> parse_address(std::string_view text) {
  beast::error_code ec;
  auto a = net::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return unmapped(a);
}

/// The bytes of an address as IPv6 (IPv4 mapped), so one comparison serves both families.
std::array<unsigned char, 16> bytes16(const net::ip::address& a) {
  if (a.is_v4()) return net::ip::make_address_v6(net::ip::v4_mapped, a.to_v4()).to_bytes();
  return a.to_v6().to_bytes();
}

}  // namespace

net::ip::address unmapped(const net::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  return address;
}

bool cidr_block::contains(const net::ip::address& raw) const {
  const auto address = unmapped(raw);
  if (address.is_v4() != network.is_v4()) return false;
  const auto a = bytes16(address), n = bytes16(network);
  // IPv4 blocks compare the low 32 bits of the mapped form.
  unsigned bits = network.is_v4() ? prefix + 96 : prefix;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
    const unsigned take = std::min(bits, 8u);
    const unsigned char mask = static_cast<unsigned char>(0xff << (8 - take));
    if ((a[i] & mask) != (n[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

result<cidr_block> parse_cidr(std::string_view raw) {
  const auto text = trim(raw);
  auto bad = [&] {
    return result<cidr_block>(
        errc::bad_request,
        "'" + std::string(raw) + "' is not an address block (ADDRESS or ADDRESS/PREFIX)");
  };
  const auto slash = text.find('/');
  auto address = parse_address(text.substr(0, slash));
  if (!address) return bad();
  const unsigned max = address->is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return bad();
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return bad();
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > max) return bad();
  }
  return cidr_block{*address, prefix};
}

result<std::vector<cidr_block>> parse_cidrs(const std::vector<std::string>& texts) {
  std::vector<cidr_block> out;
  for (const auto& t : texts) {
    auto block = parse_cidr(t);
    if (!block) return block.error();
    out.push_back(*block);
  }
  return out;
}

bool in_any(const net::ip::address& address, const std::vector<cidr_block>& blocks) {
  return std::any_of(blocks.begin(), blocks.end(),
                     [&](const cidr_block& b) { return b.contains(address); });
}

net::ip::address client_address(const net::ip::address& raw_peer, std::string_view forwarded_for,
                                const std::vector<cidr_block>& trusted) {
  auto current = unmapped(raw_peer);
  if (!in_any(current, trusted)) return current;
  // Walk from the right: each hop was appended by the one after it, and only trusted hops are
  // believed to have appended honestly.
  while (!forwarded_for.empty()) {
    const auto comma = forwarded_for.rfind(',');
    const auto entry =
        trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for =
        comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
    if (entry.empty()) continue;
    auto hop = parse_address(entry);
    if (!hop) return current;
    current = *hop;
    if (!in_any(current, trusted)) return current;
  }
  return current;
}

std::string limit_key(const net::ip::address& raw) {
  const auto address = unmapped(raw);
  if (address.is_v4()) return address.to_string();
  auto bytes = address.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return net::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace hibiki::gateway
