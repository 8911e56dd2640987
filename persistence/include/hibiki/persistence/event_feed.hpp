#pragma once
/// The journal read as one stream of every entity's events, in the order they became durable: what
/// read-side projections (search, webhooks) follow. Writes never wait for a reader of the feed.
///
/// The feed has partitions, each an ordered log with offsets. The embedded RocksDB journal has one
/// partition (0) whose offsets are a global sequence given at group commit; the Kafka journal's
/// partitions and offsets are the topic's (committed records only, read_committed).
#include <chrono>
#include <cstdint>
#include <map>
#include <vector>
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/journal.hpp"

namespace hibiki::persistence {

/// For each partition, the next offset to read (everything before it has been read).
using feed_positions = std::map<std::int32_t, std::int64_t>;

/// One event of the feed and where it sits.
struct feed_record {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  persisted_event event;
};

/// A reader of the feed. One reader per projection; not thread-safe (one thread reads it).
class event_feed {
 public:
  virtual ~event_feed() = default;
  /// Every partition of the feed.
  virtual result<std::vector<std::int32_t>> partitions() = 0;
  /// Up to `max` records at or after `from`, reading only the partitions that are keys of `from`,
  /// waiting up to `wait` when none is there yet (an empty vector then). Records of one partition
  /// come in offset order; offsets may have gaps (Kafka's transaction markers, aborted records).
  virtual result<std::vector<feed_record>> read(const feed_positions& from, std::size_t max,
                                                std::chrono::milliseconds wait) = 0;
  /// Where the last read() got to: for each partition of its `from`, the offset to continue from.
  /// Every offset below it was returned by a read or holds no event (a Kafka transaction marker
  /// or aborted record, an event deleted by delete_to), so the reader of the feed can move past
  /// what was skipped even when read() returned nothing. Default: empty (continue after the last
  /// record returned).
  virtual feed_positions read_to() { return {}; }
  /// For each partition, the offset the next durable event will get (the end), to measure lag.
  virtual result<feed_positions> end_positions() = 0;
};

}  // namespace hibiki::persistence
