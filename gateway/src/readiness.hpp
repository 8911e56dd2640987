#pragma once
/// What GET /readyz answers: whether this node should get traffic now (a load balancer's or an
/// orchestrator's question), derived from the node's health and its journal status.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hibiki::gateway {

/// Why the node is not ready; empty when it is. `healthy` is node::healthy() (false while
/// stopping); `journal` is node::journal_status() (shape in docs/operations.md). Reasons, in
/// order: the node stopping; the status missing (its "error"); a breaker not closed ("journal
/// breaker open"); each partition this node serves that is not ready ("partition 3 catching up
/// 1200/5000": indexed/end offsets, "?" when unknown). Partitions another node writes
/// ("following") do not count: this node does not serve their writes.
std::vector<std::string> readiness_problems(bool healthy, const nlohmann::json& journal);

/// Why a gateway started before its node is not ready: `starting()` (hibikid's: how far the
/// journal's open got, persistence::open_progress::pending), or "node starting" when there is no
/// such function or it says nothing.
std::vector<std::string> starting_problems(
    const std::function<std::vector<std::string>()>& starting);

/// The /readyz body: {"ready":true} or {"ready":false,"reasons":[...]}.
std::string readiness_body(const std::vector<std::string>& problems);

}  // namespace hibiki::gateway
