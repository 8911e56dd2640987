#include "routes.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace hibiki::gateway {
namespace {

struct route_entry {
  std::string_view path;
  bool prefix;  ///< matches every path starting with `path`
  route_kind kind;
};

/// Paths not listed are `web`.
constexpr std::array<route_entry, 7> routes{{
    {"/healthz", false, route_kind::health},
    {"/metrics", false, route_kind::monitoring},
    {"/readyz", false, route_kind::monitoring},
    {"/api/journal", false, route_kind::operator_only},
    {"/api/cluster", false, route_kind::operator_only},
    {"/api/admin/", true, route_kind::operator_only},
    {"/api/projections", true, route_kind::operator_only},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

refusal not_here(std::string message) {
  return refusal{404, "not_found", std::move(message)};
}

}  // namespace

route_kind route_of(std::string_view path) {
  for (const auto& r : routes) {
    if (r.prefix ? path.substr(0, r.path.size()) == r.path : path == r.path) return r.kind;
  }
  // "/api/admin" without the slash is an operator path too (and then 404 from the admin API).
  if (path == "/api/admin") return route_kind::operator_only;
  return route_kind::web;
}

bool needs_node(std::string_view path) {
  return path == "/ws" || path.substr(0, 5) == "/api/" || path == "/api";
}

bool bearer_matches(std::string_view authorization, std::string_view expected) {
  if (expected.empty()) return false;
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() < scheme.size() ||
      !iequals(authorization.substr(0, scheme.size()), scheme))
    return false;
  auto given = authorization.substr(scheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  while (!given.empty() && given.back() == ' ') given.remove_suffix(1);
  // Constant time in the expected token's length: every byte is compared, whatever differs.
  unsigned diff = given.size() == expected.size() ? 0U : 1U;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0U;
    diff |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return diff == 0;
}

std::optional<refusal> check_access(route_kind kind, listener_role role,
                                    const gateway_options& options,
                                    std::string_view authorization) {
  const bool has_admin_listener = !options.admin_host.empty();
  const bool has_token = !options.admin_token.empty();
  switch (kind) {
    case route_kind::health:
      return std::nullopt;
    case route_kind::web:
      if (role == listener_role::admin)
        return not_here("the admin listener serves only the operator endpoints");
      return std::nullopt;
    case route_kind::monitoring:
      if (role == listener_role::main && has_admin_listener)
        return not_here("served on the admin listener (--admin-http) only");
      return std::nullopt;
    case route_kind::operator_only:
      break;
  }
  if (role == listener_role::main && has_admin_listener)
    return not_here("operator endpoints are served on the admin listener (--admin-http) only");
  if (!has_token) {
    if (role == listener_role::admin) return std::nullopt;
    return refusal{403, "forbidden",
                   "operator endpoints are off: start hibikid with --admin-token-file or "
                   "--admin-http"};
  }
  if (authorization.empty())
    return refusal{401, "unauthenticated", "the admin token is required (Authorization: Bearer)"};
  if (!bearer_matches(authorization, options.admin_token))
    return refusal{401, "unauthenticated", "bad admin token"};
  return std::nullopt;
}

}  // namespace hibiki::gateway
