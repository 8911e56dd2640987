#pragma once
/// The `search` op: the index (persistence/search_index.hpp) asked for the searcher's rooms as
/// they are now, its hits turned into the protocol's message objects. Blocking: runs on the io
/// executor, never inside an actor.

#include "hibiki/core/protocol.hpp"
#include "hibiki/persistence/read_store.hpp"
#include "hibiki/persistence/search_index.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// `{total, results: [{room_id, message, snippet}]}`. The rooms searched are the reader's
/// member rows at the time of the query, so a room the reader left or was removed from is not
/// searched at all. A `room_id` filter of a room the reader is not in is forbidden (not_found
/// for no such room), as in `history`. Hits whose message is deleted by now (the index follows
/// the journal a little behind) are left out. `index` null: unavailable (search is off).
command_reply read_search(persistence::read_store& reads, const persistence::search_index* index,
                          account_id reader, const protocol::search_req& req);

}  // namespace hibiki::actors
