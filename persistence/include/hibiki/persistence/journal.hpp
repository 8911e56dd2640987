#pragma once
/// The event journal: an append-only log of each entity's events. Every backend (embedded
/// RocksDB, Kafka) implements this interface and passes the same conformance suite
/// (tests/persistence/journal_conformance.hpp, after the Akka/Pekko persistence TCK).

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/read_model.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::persistence {

using bytes = std::vector<std::uint8_t>;

/// One event as stored: who wrote it, where it sits, and its encoded payload (core/codec).
struct persisted_event {
  entity_id entity;
  seq_nr seq = 0;
  std::string writer;  ///< the writer id of the node incarnation that appended it
  bytes payload;

  friend bool operator==(const persisted_event&, const persisted_event&) = default;
};

/// An atomic append: all of `events` (consecutive seqs starting at highest+1) and all of `rows`
/// become durable together, or none of them do.
struct append_request {
  entity_id entity;
  std::vector<persisted_event> events;
  std::vector<read_model::row_op> rows;
};

/// Called exactly once per append, from a journal thread (never from the caller's stack), once
/// the append is durable (ok) or has failed. Must not block.
using append_callback = std::function<void(status)>;

inline constexpr seq_nr max_seq = std::numeric_limits<seq_nr>::max();

class journal {
 public:
  virtual ~journal() = default;

  /// Appends asynchronously. Errors: conflict (first seq is not highest+1, or seqs not
  /// consecutive), too_large (an event over the size limit), bad_request (empty payload or entity),
  /// unavailable (storage failure).
  virtual void async_append(append_request req, append_callback done) = 0;

  /// Blocking convenience over async_append. Never call from an actor's thread.
  status append(append_request req);

  /// Calls `fn` for each event with from <= seq <= to, in order, at most `max` events.
  virtual status replay(const entity_id& entity, seq_nr from, seq_nr to, std::uint64_t max,
                        const std::function<void(const persisted_event&)>& fn) = 0;

  /// The highest seq ever appended for `entity` (0 if none). Never decreases, not even after
  /// delete_to.
  virtual result<seq_nr> highest_seq(const entity_id& entity) = 0;

  /// Permanently deletes events with seq <= to (the highest seq is kept).
  virtual status delete_to(const entity_id& entity, seq_nr to) = 0;
};

}  // namespace hibiki::persistence
