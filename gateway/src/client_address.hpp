#pragma once
/// Who the client is, before authentication: the TCP peer, or — when the peer is a trusted
/// reverse proxy — the address it forwarded in X-Forwarded-For. Pure functions, so the rules are
/// unit-tested without a proxy.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "beast_fwd.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::gateway {

/// An address block: `address/prefix` (a bare address is a single host).
struct cidr_block {
  net::ip::address network;
  unsigned prefix = 0;

  bool contains(const net::ip::address& address) const;
};

/// Parses "10.0.0.0/8", "::1", "fd00::/8", "127.0.0.1". Errors: bad_request naming the text.
result<cidr_block> parse_cidr(std::string_view text);

/// Parses every block of a list (the --trusted-proxies flag); the first bad one is the error.
result<std::vector<cidr_block>> parse_cidrs(const std::vector<std::string>& texts);

/// IPv4 mapped into IPv6 (what a dual-stack listener sees) as plain IPv4; others unchanged.
net::ip::address unmapped(const net::ip::address& address);

/// The client of a request from `peer` carrying `forwarded_for` (every X-Forwarded-For value,
/// comma-joined in header order; empty when absent). When `peer` is not in `trusted`, it is the
/// client and the header is ignored. Otherwise the hops are walked from the right, skipping
/// trusted ones; the first untrusted hop is the client. When every hop is trusted, the leftmost
/// is. An entry that is not an IP address stops the walk: the last trusted hop passed (at worst
/// the peer) is then the client, since nothing beyond it can be believed.
net::ip::address client_address(const net::ip::address& peer, std::string_view forwarded_for,
                                const std::vector<cidr_block>& trusted);

/// Whether `address` is in any of `blocks`.
bool in_any(const net::ip::address& address, const std::vector<cidr_block>& blocks);

/// The key per-address limits count under: the IPv4 address, or an IPv6 address's /64 (one
/// subscriber usually holds a whole /64, so counting single IPv6 addresses would be no limit).
std::string limit_key(const net::ip::address& address);

}  // namespace hibiki::gateway
