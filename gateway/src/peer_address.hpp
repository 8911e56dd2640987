#pragma once
/// Whether a peer address is on this machine. Not an access rule: behind a reverse proxy on the
/// same host every peer is loopback, so the operator endpoints go by token or listener instead
/// (routes.hpp). A pure function of the address, unit-tested without a second host.

#include <string_view>

#include "beast_fwd.hpp"

namespace hibiki::gateway {

/// True for 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6 (::ffff:127.x.y.z, what a
/// dual-stack listener sees for an IPv4 loopback client).
bool is_loopback_peer(const net::ip::address& address);

/// The same for an address in text; false for anything that is not an IP literal.
bool is_loopback_peer(std::string_view address);

}  // namespace hibiki::gateway
