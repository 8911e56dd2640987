#pragma once
/// The operator commands' one HTTP exchange: `hibiki journal status` (GET /api/journal),
/// `hibiki cluster status` (GET /api/cluster) and `hibiki admin ...` (POST /api/admin/...) get a
/// JSON object from a hibikid the same way, with the admin token when one is given, and explain
/// the same failures.

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hibiki/cli/client_options.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::cli {

struct status_reply {
  std::string body;     ///< the server's bytes, printed as they came by --json
  nlohmann::json json;  ///< the same, parsed (always an object)
};

/// GET `target` on url's host and port; `what` names the answer in messages ("journal status").
/// `admin_token`, when not empty, goes as `Authorization: Bearer`. Every step (connect, send,
/// answer) is bounded by `timeout`. Errors (messages say what to do): unavailable (cannot resolve
/// or connect, no answer in time), unauthenticated (401: no or a wrong admin token), forbidden
/// (403: the operator endpoints are off), internal (another HTTP status, a body that is not a
/// JSON object).
result<status_reply> fetch_status_json(const server_url& url, std::string_view target,
                                       std::string_view what, std::chrono::milliseconds timeout,
                                       std::string_view admin_token = {});

/// POST `body` (JSON) to `target`, like fetch_status_json. Besides its errors: bad_request (400)
/// and not_found (404 with the server's message, e.g. no such account).
result<status_reply> post_operator_json(const server_url& url, std::string_view target,
                                        std::string body, std::string_view what,
                                        std::chrono::milliseconds timeout,
                                        std::string_view admin_token);

}  // namespace hibiki::cli
