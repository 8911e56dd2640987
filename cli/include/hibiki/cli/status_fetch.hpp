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
#include "hibiki/cli/client_tls.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::cli {

/// One HTTP answer as it came: its status code and body.
struct http_answer {
  unsigned status = 0;
  std::string body;
};

/// One HTTP/1.1 request (`method` "GET" or "POST"; a POST body is JSON) to url's host and port,
/// over TLS when the URL is https:// or wss:// (trusted as `tls` says), with `bearer_token` as
/// `Authorization: Bearer` when not empty. Every step (connect, TLS handshake, send, answer) is
/// bounded by `timeout`. Any HTTP status is an answer. Errors: unavailable (cannot resolve or
/// connect, a refused TLS handshake explained (tls_handshake_failure), no answer in time, a plain
/// request closed by what is most likely a TLS port), bad_request (--ca-file unusable).
result<http_answer> http_exchange(const server_url& url, const client_tls_options& tls,
                                  std::string_view method, std::string_view target,
                                  std::string body, std::string_view bearer_token,
                                  std::chrono::milliseconds timeout);

struct status_reply {
  std::string body;     ///< the server's bytes, printed as they came by --json
  nlohmann::json json;  ///< the same, parsed (always an object)
};

/// GET `target` on url's host and port; `what` names the answer in messages ("journal status").
/// `admin_token`, when not empty, goes as `Authorization: Bearer`. Every step (connect, send,
/// answer) is bounded by `timeout`; https:// is trusted as `tls` says. Errors (messages say what
/// to do): http_exchange's, unauthenticated (401: no or a wrong admin token), forbidden
/// (403: the operator endpoints are off), internal (another HTTP status, a body that is not a
/// JSON object).
result<status_reply> fetch_status_json(const server_url& url, std::string_view target,
                                       std::string_view what, std::chrono::milliseconds timeout,
                                       std::string_view admin_token = {},
                                       const client_tls_options& tls = {});

/// POST `body` (JSON) to `target`, like fetch_status_json. Besides its errors: bad_request (400)
/// and not_found (404 with the server's message, e.g. no such account).
result<status_reply> post_operator_json(const server_url& url, std::string_view target,
                                        std::string body, std::string_view what,
                                        std::chrono::milliseconds timeout,
                                        std::string_view admin_token,
                                        const client_tls_options& tls = {});

}  // namespace hibiki::cli
