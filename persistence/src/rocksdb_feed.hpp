#pragma once
/// The embedded backend's feed (event_feed.hpp). Column family `feed`: key be64(offset), value a
/// pointer (be64 seq, entity) to the event in the `journal` family. The group-commit writer gives
/// each accepted event the next offset and puts its feed entry into the same WriteBatch as the
/// event, so a feed entry exists exactly for each durable event, in the order they became
/// durable. One partition (0). Decision record: docs/decisions/0033.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "hibiki/persistence/event_feed.hpp"
#include "rocksdb_database.hpp"

namespace hibiki::persistence {

/// The end of the feed (the offset the next durable event gets), published by the journal's
/// writer after each successful commit; readers wait on it instead of polling. Thread-safe.
class feed_end {
 public:
  explicit feed_end(std::uint64_t end) : end_(end) {}
  /// Every offset below `end` is durable. Wakes waiting readers.
  void advance(std::uint64_t end);
  std::uint64_t end() const;
  /// Waits until end() > offset, close(), or `wait` passed; returns end().
  std::uint64_t wait_past(std::uint64_t offset, std::chrono::milliseconds wait);
  /// Wakes every waiter, now and later (the backend is closing).
  void close();

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t end_;
  bool closed_ = false;
};

/// Makes the feed whole before the journal's writer starts, and returns its end. A database
/// without the back-fill mark (written before the feed existed, or a back-fill cut short by a
/// crash) first has its feed cleared and rebuilt: one entry per event of the `journal` family, in
/// key order (entity by entity, seq order within each: the order of each entity's events is kept;
/// the interleaving across entities is not known any more), then the mark. Errors: unavailable.
result<std::uint64_t> prepare_feed(rocksdb_database& db);

/// A new reader of the feed (not thread-safe: one thread reads it). It must be destroyed before
/// `db`. Events deleted by delete_to after their feed entry was written are skipped.
std::unique_ptr<event_feed> open_rocksdb_feed(rocksdb_database& db, std::shared_ptr<feed_end> end);

}  // namespace hibiki::persistence
