#pragma once
/// Applies the event feed to a projection on the calling thread, batch by batch, up to a given
/// end: what the projection runner does, without its thread, backoff and metrics. The benchmark
/// uses it to measure the projection's own cost (`index --via loop`) and the smoke test to build
/// an index without timing.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "hibiki/core/result.hpp"
#include "hibiki/persistence/event_feed.hpp"
#include "hibiki/persistence/projection.hpp"

namespace hibiki::bench::search {

/// From the projection's committed positions (offset 0 for a partition it has none of) until
/// every partition of `end` is reached, or until `deadline` passes (checked between batches).
/// `progress` (when set) gets the events applied so far after each batch. Returns the events
/// applied.
result<std::uint64_t> apply_feed(
    persistence::event_feed& feed, persistence::projection& p,
    const persistence::feed_positions& end, std::size_t batch,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max(),
    const std::function<void(std::uint64_t)>& progress = {});

}  // namespace hibiki::bench::search
