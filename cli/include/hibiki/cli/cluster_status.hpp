#pragma once
/// `hibiki cluster status`: fetches GET /api/cluster from a hibikid and turns the JSON (shape in
/// docs/operations.md) into the table an operator reads: the nodes with their endpoint, whether
/// the answering node reaches them, their shards and lag, then the shards nobody owns.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hibiki/cli/client_options.hpp"
#include "hibiki/cli/status_fetch.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::cli {

/// GET /api/cluster on url's host and port, with fetch_status_json's errors. The node may ask
/// the broker and every other node (~3 s), so the default bound is longer than the journal's.
result<status_reply> fetch_cluster_status(
    const server_url& url, std::chrono::milliseconds timeout = std::chrono::seconds(15),
    std::string_view admin_token = {}, const client_tls_options& tls = {});

/// Shard numbers as ranges: {0,1,2,5,7,8} → "0-2,5,7-8"; empty → "-". Sorted and deduplicated
/// first.
std::string shard_ranges(std::vector<std::int64_t> shards);

/// The readable table. Header lines: whether the node is clustered and which node answered,
/// topic and group, how many nodes (and how many reachable); then one row per node (NODE with
/// '*' on the answering one, ENDPOINT, REACHABLE yes/no, SHARDS as ranges ("all" for a node that
/// is not clustered), LAG = the sum of its shards' lag from its own journal status, "-" when
/// unknown, ERROR); then the unassigned shards. Errors: bad_request when the JSON is not the
/// documented shape (no boolean "clustered", no "nodes" array, a field of the wrong type).
result<std::string> format_cluster_status(const nlohmann::json& status);

}  // namespace hibiki::cli
