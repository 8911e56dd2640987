#pragma once
/// A stand-in for the event feed when the backend has none (open_feed() returns null): the
/// generator's rooms replayed from the journal one after another (room 1's events, then room
/// 2's, ...), numbered 0, 1, 2, ... in one partition. Each room's events keep their order; the
/// interleaving across rooms of the real feed is lost, which the search index does not depend on
/// (it keeps no state across rooms). The benchmark says when it used this.

#include <cstdint>
#include <memory>

#include "hibiki/persistence/event_feed.hpp"
#include "hibiki/persistence/journal.hpp"

namespace hibiki::bench::search {

/// Rooms 1..rooms of `journal`, `events` events in all (the generator's count: the end). Reads
/// must continue where the previous one ended (the projection's committed position).
std::unique_ptr<persistence::event_feed> open_replay_feed(persistence::journal& journal,
                                                          std::uint32_t rooms,
                                                          std::uint64_t events);

}  // namespace hibiki::bench::search
