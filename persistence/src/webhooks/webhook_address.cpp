/// Server-side request forgery guard: which addresses a webhook may be delivered to. A webhook
/// URL is chosen by a room admin, so without this check the server would POST, on their behalf,
/// to its own loopback services, the cloud's metadata address or the private network.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "hibiki/core/room_webhook.hpp"
#include "hibiki/persistence/webhooks.hpp"

namespace hibiki::persistence {

namespace {

namespace ip = boost::asio::ip;

bool in(std::uint32_t a, std::uint32_t net, int bits) {
  const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (a & mask) == (net & mask);
}

constexpr std::uint32_t v4(int a, int b, int c, int d) {
  return (static_cast<std::uint32_t>(a) << 24) | (static_cast<std::uint32_t>(b) << 16) |
         (static_cast<std::uint32_t>(c) << 8) | static_cast<std::uint32_t>(d);
}

std::string v4_reason(std::uint32_t a) {
  struct range {
    std::uint32_t net;
    int bits;
    const char* why;
  };
  static constexpr range ranges[] = {
      {v4(0, 0, 0, 0), 8, "\"this network\" (0.0.0.0/8, unspecified)"},
      {v4(10, 0, 0, 0), 8, "private (10.0.0.0/8)"},
      {v4(100, 64, 0, 0), 10, "shared address space / CGNAT (100.64.0.0/10)"},
      {v4(127, 0, 0, 0), 8, "loopback (127.0.0.0/8)"},
      {v4(169, 254, 0, 0), 16, "link-local (169.254.0.0/16)"},
      {v4(172, 16, 0, 0), 12, "private (172.16.0.0/12)"},
      {v4(192, 0, 0, 0), 24, "IETF protocol assignments (192.0.0.0/24)"},
      {v4(192, 0, 2, 0), 24, "documentation (192.0.2.0/24)"},
      {v4(192, 88, 99, 0), 24, "6to4 relay anycast (192.88.99.0/24)"},
      {v4(192, 168, 0, 0), 16, "private (192.168.0.0/16)"},
      {v4(198, 18, 0, 0), 15, "benchmarking (198.18.0.0/15)"},
      {v4(198, 51, 100, 0), 24, "documentation (198.51.100.0/24)"},
      {v4(203, 0, 113, 0), 24, "documentation (203.0.113.0/24)"},
      {v4(224, 0, 0, 0), 4, "multicast (224.0.0.0/4)"},
      {v4(240, 0, 0, 0), 4, "reserved or broadcast (240.0.0.0/4)"},
  };
  for (const auto& r : ranges) {
    if (in(a, r.net, r.bits)) return r.why;
  }
  return {};
}

std::uint32_t v4_at(const ip::address_v6::bytes_type& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

bool zero(const ip::address_v6::bytes_type& b, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (b[i] != 0) return false;
  }
  return true;
}

std::string v6_reason(const ip::address_v6& address) {
  const auto b = address.to_bytes();
  if (address.is_unspecified()) return "unspecified (::)";
  if (address.is_loopback()) return "loopback (::1)";
  // ::ffff:a.b.c.d, IPv4-mapped: the IPv4 address is what a connection reaches.
  if (zero(b, 0, 10) && b[10] == 0xff && b[11] == 0xff) {
    auto why = v4_reason(v4_at(b, 12));
    return why.empty() ? std::string{} : "IPv4-mapped " + why;
  }
  if (zero(b, 0, 12)) return "IPv4-compatible (::/96, deprecated)";
  // 64:ff9b::/96, NAT64: a translator connects to the embedded IPv4 address.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(b, 4, 12)) {
    auto why = v4_reason(v4_at(b, 12));
    return why.empty() ? std::string{} : "NAT64 " + why;
  }
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1) {
    return "local-use NAT64 (64:ff9b:1::/48)";
  }
  if (b[0] == 0x01 && b[1] == 0x00 && zero(b, 2, 8)) return "discard-only (100::/64)";
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) {
    return "documentation (2001:db8::/32)";
  }
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02) {
    return "IETF special purpose, Teredo included (2001::/23)";
  }
  // 2002::/16, 6to4: the next 32 bits are an IPv4 address.
  if (b[0] == 0x20 && b[1] == 0x02) {
    auto why = v4_reason(v4_at(b, 2));
    return why.empty() ? std::string{} : "6to4 " + why;
  }
  if ((b[0] & 0xfe) == 0xfc) return "unique local / private (fc00::/7)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local (fe80::/10)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local (fec0::/10, deprecated)";
  if (b[0] == 0xff) return "multicast (ff00::/8)";
  return {};
}

}  // namespace

std::string forbidden_address_reason(std::string_view text) {
  boost::system::error_code ec;
  auto address = ip::make_address(std::string(text), ec);
  if (ec) return "not an IP address";
  if (address.is_v4()) return v4_reason(address.to_v4().to_uint());
  return v6_reason(address.to_v6());
}

result<std::vector<std::string>> resolve_webhook_host(const std::string& host, bool allow_private) {
  boost::asio::io_context ioc;
  ip::tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, "0", ec);
  if (ec || results.empty()) {
    return hibiki::error{errc::bad_request, "the webhook host \"" + host + "\" does not resolve" +
                                                (ec ? ": " + ec.message() : std::string{})};
  }
  std::vector<std::string> out;
  for (const auto& entry : results) {
    auto text = entry.endpoint().address().to_string();
    if (!allow_private) {
      auto why = forbidden_address_reason(text);
      if (!why.empty()) {
        // The category, not the address: a room admin must not learn the private network's
        // addresses through this message.
        return hibiki::error{errc::bad_request,
                             "the webhook host \"" + host + "\" is or resolves to a " + why +
                                 " address: such targets are refused (--webhook-allow-private "
                                 "allows them)"};
      }
    }
    if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(std::move(text));
  }
  return out;
}

status check_webhook_target(std::string_view url, bool allow_private) {
  auto parsed = room::parse_webhook_url(url);
  if (!parsed) return parsed.error();
  auto addresses = resolve_webhook_host(parsed->host, allow_private);
  if (!addresses) return addresses.error();
  return {};
}

}  // namespace hibiki::persistence
