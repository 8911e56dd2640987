#pragma once
/// `hibiki journal status`: fetches GET /api/journal from a hibikid and turns the JSON into the
/// summary an operator reads. Fetching and formatting are apart so each is tested on its own.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "hibiki/cli/client_options.hpp"
#include "hibiki/cli/status_fetch.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::cli {

/// What fetch_journal_status returns (the name predates `hibiki cluster status`).
using journal_status_reply = status_reply;

/// GET /api/journal on url's host and port, with `admin_token` as the bearer token when not
/// empty. Every step (connect, send, answer) is bounded by `timeout`. Errors as
/// fetch_status_json's (status_fetch.hpp).
result<journal_status_reply> fetch_journal_status(
    const server_url& url, std::chrono::milliseconds timeout = std::chrono::seconds(10),
    std::string_view admin_token = {}, const client_tls_options& tls = {});

/// The readable summary: kind, the node's "error" when it could not get a fresh status, brokers,
/// topic, append counters, breaker, then one line per
/// partition (partition, state, indexed offset, end offset, lag, last error). Unknown offsets
/// (-1) print as "-". Errors: bad_request when the JSON is not the documented shape (no string
/// "kind", or a field of the wrong type).
result<std::string> format_journal_status(const nlohmann::json& status);

}  // namespace hibiki::cli
