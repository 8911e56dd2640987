#pragma once
/// Which HTTP paths are served on which listener, and who may call them. One table, so a new
/// operator or monitoring endpoint is one line here; pure functions, unit-tested without a socket.
///
/// - web: the web client's files, /ws, /api/signup. The main listener (--http) only.
/// - health: /healthz. Both listeners (a probe may use either).
/// - monitoring: /metrics, /readyz. No user data, no token: on the main listener, or on the admin
///   listener instead when there is one.
/// - operator: /api/journal, /api/cluster, /api/admin/... Never trusted by peer address (behind a
///   reverse proxy on the same host every peer is loopback). With --admin-http they are served
///   there only; with --admin-token-file they need `Authorization: Bearer TOKEN` (on the admin
///   listener too when both are set); with neither they are off.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "hibiki/gateway/gateway_options.hpp"

namespace hibiki::gateway {

enum class route_kind { web, health, monitoring, operator_only };

/// The kind of a request path (without its query string).
route_kind route_of(std::string_view path);

/// Whether serving `path` needs the node: /ws and every /api/ path (sign-up, operator calls).
/// While the node starts (server::start_before_node) these answer 503 with
/// `starting_message` and Retry-After `retry_after_starting`; health, /readyz, /metrics and the
/// web client's files are served.
bool needs_node(std::string_view path);
inline constexpr std::string_view starting_message =
    "the server is starting (opening the journal); retry shortly";
inline constexpr std::chrono::seconds retry_after_starting{5};

/// Which listener a connection came in on.
enum class listener_role { main, admin };

/// Why a request is not served: the HTTP status and the error body's code and message.
struct refusal {
  unsigned status = 404;
  std::string code;
  std::string message;
};

/// nullopt: serve the request. `authorization` is the request's Authorization header (may be
/// empty). `options.admin_token` empty = no token configured; `options.admin_host` empty = no
/// admin listener.
std::optional<refusal> check_access(route_kind kind, listener_role role,
                                    const gateway_options& options, std::string_view authorization);

/// True when `authorization` is "Bearer TOKEN" (scheme case-insensitive) with TOKEN equal to
/// `expected`. The comparison takes the same time wherever the first difference is. False when
/// `expected` is empty.
bool bearer_matches(std::string_view authorization, std::string_view expected);

}  // namespace hibiki::gateway
