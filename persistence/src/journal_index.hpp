#pragma once
/// The journal index both backends share: the `journal` and `journal_meta` column families. The
/// embedded journal writes them as the journal itself; the Kafka backend writes them as its local
/// index of the topic. Validation and reads live here once so the two cannot drift apart.

#include <cstddef>
#include <cstdint>
#include <functional>

#include "hibiki/persistence/journal.hpp"
#include "rocksdb_database.hpp"

namespace hibiki::persistence::index {

/// Checks one append against the entity's highest seq: bad_request (empty or NUL entity, no
/// events, empty payload, event of another entity, unknown table), too_large (an event over
/// `max_event_bytes`), conflict (seqs not highest+1, highest+2, ...).
status validate_append(const append_request& req, seq_nr highest, std::size_t max_event_bytes);

/// Calls `fn` for each indexed event of `entity` with from <= seq <= to, at most `max`.
status replay(rocksdb_database& db, const entity_id& entity, seq_nr from, seq_nr to,
              std::uint64_t max, const std::function<void(const persisted_event&)>& fn);

/// The highest seq recorded in journal_meta (0 if none).
result<seq_nr> highest_seq(rocksdb_database& db, const entity_id& entity);

}  // namespace hibiki::persistence::index
