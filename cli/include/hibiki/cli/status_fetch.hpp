#pragma once
/// The operator commands' one HTTP GET: `hibiki journal status` (GET /api/journal) and
/// `hibiki cluster status` (GET /api/cluster) fetch a JSON object from a hibikid the same way and
/// explain the same failures.

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
/// Every step (connect, send, answer) is bounded by `timeout`. Errors (messages say what to do):
/// unavailable (cannot resolve or connect, no answer in time), forbidden (403: not a loopback
/// peer), internal (another HTTP status, a body that is not a JSON object).
result<status_reply> fetch_status_json(const server_url& url, std::string_view target,
                                       std::string_view what, std::chrono::milliseconds timeout);

}  // namespace hibiki::cli
