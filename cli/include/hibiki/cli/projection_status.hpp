#pragma once
/// `hibiki admin projections` and `hibiki admin rebuild NAME`: the projections' status from
/// GET /api/projections (docs/operations.md, "Projections") as an operator reads it. Formatting
/// is apart from fetching so it is tested on its own.

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "hibiki/cli/client_options.hpp"
#include "hibiki/cli/status_fetch.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::cli {

/// One line per projection: name, state, lag, events applied, events/s, positions, last error;
/// "no projections" when the node runs none. Errors: bad_request when the JSON is not the
/// documented shape.
result<std::string> format_projections(const nlohmann::json& status);

/// Projection `name` of a GET /api/projections answer; nullopt when it is not there.
std::optional<nlohmann::json> find_projection(const nlohmann::json& status,
                                              const std::string& name);

/// One progress line of a rebuild: "search: rebuilding, 1200/5000 (24%), 3100 events/s", or
/// once done "search: rebuilt 5000 events in 1.6 s (3100 events/s)".
std::string format_rebuild_progress(const nlohmann::json& projection);

/// True once the projection's rebuild is done (rebuild.done and no longer active).
bool rebuild_done(const nlohmann::json& projection);

/// `hibiki admin projections` (o.args = {"projections"}): GET /api/projections, printed with
/// format_projections (or as it came with --json). `hibiki admin rebuild NAME` (o.args =
/// {"rebuild", NAME}): POST /api/projections/NAME/rebuild, then GET /api/projections every
/// `poll` and one progress line each, until the rebuild is done (with --json: only the final
/// projection object). Errors: the server's (unknown name: not_found naming the projections the
/// node runs; no or a wrong token: unauthenticated), or internal when the projection went away.
status run_projections_command(const client_options& o, const server_url& url,
                               const std::string& admin_token, std::ostream& out,
                               std::chrono::milliseconds poll = std::chrono::milliseconds(500));

}  // namespace hibiki::cli
