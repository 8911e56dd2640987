// Fuzz target: the gateway's pure HTTP request parsing (gateway/src/request_parsing.cpp,
// static_files.cpp and client_address.cpp). The same bytes are a request target (split into path
// and query, mapped to a file under the web root), a sign-up body, an X-Forwarded-For header, an
// address block, an operator call (gateway/src/admin_api.cpp) and an Authorization header
// (routes.cpp). A mapped file must stay under the web root, a sign-up name must be valid
// UTF-8 (the user aggregate counts its code points next), and the client behind a proxy must be
// the peer or an address the header names.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "admin_api.hpp"
#include "client_address.hpp"
#include "fuzz_check.hpp"
#include "hibiki/core/room.hpp"
#include "request_parsing.hpp"
#include "routes.hpp"
#include "static_files.hpp"

namespace {

using namespace hibiki;

constexpr std::string_view web_root = "/srv/hibiki/web";

void check_split(std::string_view target) {
  const auto parts = gateway::split_target(target);
  FUZZ_CHECK(parts.path.data() == target.data());
  FUZZ_CHECK(parts.path.find_first_of("?#") == std::string_view::npos);
  FUZZ_CHECK(parts.query.find('#') == std::string_view::npos);
  if (parts.path.size() < target.size() && target[parts.path.size()] == '?') {
    FUZZ_CHECK(parts.query.data() == target.data() + parts.path.size() + 1);
  } else {
    FUZZ_CHECK(parts.query.empty());
  }
}

void check_file(std::string_view target) {
  const auto file = gateway::file_for_target(web_root, target);
  if (!file) return;
  const std::string_view path(*file);
  FUZZ_CHECK(path.starts_with(web_root) && path.size() > web_root.size() &&
             path[web_root.size()] == '/');
  const auto rest = path.substr(web_root.size());
  FUZZ_CHECK(rest.find("..") == std::string_view::npos);
  FUZZ_CHECK(rest.find("//") == std::string_view::npos);
  FUZZ_CHECK(rest.find_first_of(std::string_view("\\%\0", 3)) == std::string_view::npos);
  // The file is the target's path, or its index.html when the path names a directory.
  const auto target_path = gateway::split_target(target).path;
  FUZZ_CHECK(rest == target_path ||
             (target_path.ends_with('/') && rest.substr(0, target_path.size()) == target_path &&
              rest.substr(target_path.size()) == "index.html"));
  FUZZ_CHECK(!gateway::mime_type(path).empty());
  // Dotfiles and dot-directories are refused by the lookup that follows.
  if (!gateway::has_dot_segment(target)) FUZZ_CHECK(rest.find("/.") == std::string_view::npos);
}

void check_signup(std::string_view body) {
  const auto name = gateway::parse_signup_body(body);
  if (!name) {
    FUZZ_CHECK(name.error().code == errc::bad_request);
    FUZZ_CHECK(!name.error().message.empty());
    return;
  }
  FUZZ_CHECK(room::utf8_length(*name).has_value());
}

/// The trusted proxies of check_forwarded: loopback, 10/8 and fd00::/8.
const std::vector<gateway::cidr_block>& trusted_proxies() {
  static const auto blocks = *gateway::parse_cidrs({"127.0.0.0/8", "10.0.0.0/8", "fd00::/8"});
  return blocks;
}

/// Whether `address` is one of the comma-separated entries of `header` (spaces and tabs around
/// an entry ignored, IPv4-mapped IPv6 read as IPv4).
bool named_in(std::string_view header, const gateway::net::ip::address& address) {
  while (true) {
    const auto comma = header.find(',');
    auto entry = header.substr(0, comma);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    boost::system::error_code ec;
    const auto parsed = gateway::net::ip::make_address(std::string(entry), ec);
    if (!ec && gateway::unmapped(parsed) == address) return true;
    if (comma == std::string_view::npos) return false;
    header.remove_prefix(comma + 1);
  }
}

void check_forwarded(std::string_view header) {
  namespace ip = gateway::net::ip;
  // From a peer that is not a trusted proxy the header is ignored.
  const auto stranger = ip::make_address("203.0.113.9");
  FUZZ_CHECK(gateway::client_address(stranger, header, trusted_proxies()) == stranger);
  // From a trusted proxy the client is the proxy itself or an address the header names.
  const auto proxy = ip::make_address("10.1.2.3");
  const auto client = gateway::client_address(proxy, header, trusted_proxies());
  FUZZ_CHECK(client == proxy || named_in(header, client));
  FUZZ_CHECK(!gateway::limit_key(client).empty());
}

void check_cidr(std::string_view text) {
  const auto block = gateway::parse_cidr(text);
  if (!block) {
    FUZZ_CHECK(block.error().code == errc::bad_request);
    return;
  }
  FUZZ_CHECK(block->prefix <= (block->network.is_v4() ? 32u : 128u));
  FUZZ_CHECK(block->contains(block->network));
}

/// An operator call: the first line is the path, the rest the JSON body (no newline: the body of
/// a rename).
void check_admin_call(std::string_view input) {
  const auto newline = input.find('\n');
  const auto path = newline == std::string_view::npos ? std::string_view("/api/admin/rename")
                                                      : input.substr(0, newline);
  const auto body = newline == std::string_view::npos ? input : input.substr(newline + 1);
  (void)gateway::route_of(path);
  const auto call = gateway::parse_admin_call(path, body);
  if (!call) {
    FUZZ_CHECK(call.error().code == errc::bad_request || call.error().code == errc::not_found);
    return;
  }
  FUZZ_CHECK(path == "/api/admin/" + call->action);
  if (!call->create) {
    FUZZ_CHECK(call->request.account.value >= 1 && call->request.account.value <= max_wire_id);
  }
}

/// The admin token check accepts only "Bearer TOKEN" (scheme in any case, spaces around the
/// token), and nothing when no token is configured.
void check_bearer(std::string_view authorization) {
  constexpr std::string_view token = "s3cr3t-t0ken";
  FUZZ_CHECK(!gateway::bearer_matches(authorization, ""));
  if (!gateway::bearer_matches(authorization, token)) return;
  auto given = authorization;
  while (!given.empty() && given.back() == ' ') given.remove_suffix(1);
  FUZZ_CHECK(given.ends_with(token));
  FUZZ_CHECK(authorization.size() >= 7);
  FUZZ_CHECK((authorization[0] | 0x20) == 'b' && authorization[6] == ' ');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_split(input);
  check_file(input);
  check_signup(input);
  check_forwarded(input);
  check_cidr(input);
  check_admin_call(input);
  check_bearer(input);
  return 0;
}
