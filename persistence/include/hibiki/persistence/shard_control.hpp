#pragma once
/// Shard ownership of a clustered Kafka backend. A shard is a partition of the journal
/// topic. Every node of a cluster indexes EVERY partition (the read side: history, room lists,
/// auth and recovery read the local index), but writes only the partitions it owns:
///
///   following --acquire--> acquiring --(fenced the old writer, caught up)--> serving
///       ^                      |                                                |
///       +------- release ------+------------- release / fenced ----------------+
///
///  - following: a read_committed consumer tails the partition into the local index and read
///    models. Appends are refused with `moved` (nothing was written).
///  - acquiring: this node's transactional producer for the partition (transactional.id derived
///    from the partition) ran init_transactions, which fences the previous owner; the index is
///    being caught up to the end. Appends are refused with `moved`.
///  - serving: appends are written and indexed as in the single-node backend.
///  - release: the transaction being committed finishes (its appends get their real outcome);
///    every append still queued fails with `moved`; the producer is closed; back to following.
///  - fenced: a commit failed because another node's init_transactions fenced this producer. The
///    appends of that transaction fail `unavailable` (the new owner aborted it: nothing of it is
///    readable), queued ones fail `moved`, and the partition goes back to following. The
///    listener hears `fenced` so the node stops the shard's entities at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hibiki/core/result.hpp"

namespace hibiki::persistence {

enum class shard_change : std::uint8_t {
  serving,   ///< acquired: fenced and caught up, appends are accepted
  released,  ///< release() finished: this node no longer writes the partition
  fenced,    ///< another writer fenced this node's producer: no longer writes the partition
};

class shard_control {
 public:
  virtual ~shard_control() = default;

  /// Partitions of the journal topic (= shards).
  virtual std::int32_t partition_count() const = 0;

  /// Where ownership changes are reported: called on a backend thread, one call at a time, must
  /// not block nor call back into acquire/release. Set before the first acquire.
  virtual void set_listener(std::function<void(std::int32_t partition, shard_change)> fn) = 0;

  /// Starts taking over `partition` and returns at once. The listener hears `serving` when
  /// done; until then the backend retries (with backoff) on broker errors. A partition already
  /// acquiring or serving is left alone. Out-of-range partitions are ignored (and logged).
  virtual void acquire(std::int32_t partition) = 0;

  /// Stops writing `partition` and returns once the writer has stopped (the listener then hears
  /// `released`). Idempotent; a partition only following is left alone.
  virtual void release(std::int32_t partition) = 0;

  /// Read barrier: returns once the local index holds everything committed to `partitions`
  /// before the call (serving partitions pass at once). An empty list means every partition.
  /// Errors: unavailable when that is not reached within `timeout` (broker unreachable, lag).
  virtual status await_indexed(const std::vector<std::int32_t>& partitions,
                               std::chrono::milliseconds timeout) = 0;
};

}  // namespace hibiki::persistence
