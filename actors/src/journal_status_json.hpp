#pragma once
/// The journal status as operators see it (GET /api/journal, `hibiki journal status`): the
/// backend's view plus the breaker's, in the JSON shape documented in docs/operations.md.

#include <nlohmann/json.hpp>

#include "hibiki/core/circuit_breaker.hpp"
#include "hibiki/persistence/backend.hpp"

namespace hibiki::actors {

/// {"kind","brokers","topic","partition_count","partitions":[{"partition","state",
/// "indexed_offset","end_offset","lag","last_error"}],"appends","rejected","failed",
/// "breaker":{"state","consecutive_failures","max_failures","call_timeout_ms","reset_timeout_ms"}}
nlohmann::json journal_status_json(const persistence::journal_status& status,
                                   const breaker_options& breaker);

}  // namespace hibiki::actors
