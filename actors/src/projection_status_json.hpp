#pragma once
/// The projections' status as operators see it (GET /api/projections, `hibiki admin
/// projections`, `hibiki admin rebuild`), in the JSON shape documented in docs/operations.md.

#include <vector>

#include <nlohmann/json.hpp>

#include "hibiki/persistence/projection_runner.hpp"

namespace hibiki::actors {

/// {"projections": [{"name", "state", "positions": {"0": n}, "end_positions": {...}, "lag",
/// "applied", "events_per_second", "last_error", "rebuild": {"active", "done", "applied",
/// "total", "position", "seconds", "events_per_second"}}]}
nlohmann::json projections_status_json(const std::vector<persistence::projection_status>& all);

}  // namespace hibiki::actors
