#include "peer_address.hpp"

#include <string>

namespace hibiki::gateway {

bool is_loopback_peer(const net::ip::address& address) {
  if (address.is_v4()) return address.to_v4().is_loopback();
  const auto v6 = address.to_v6();
  if (v6.is_loopback()) return true;
  if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6).is_loopback();
  return false;
}

bool is_loopback_peer(std::string_view address) {
  beast::error_code ec;
  auto parsed = net::ip::make_address(std::string(address), ec);
  return !ec && is_loopback_peer(parsed);
}

}  // namespace hibiki::gateway
