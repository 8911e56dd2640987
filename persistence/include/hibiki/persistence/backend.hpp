#pragma once
/// A storage backend as the node sees it: a journal, a snapshot store and the read models, opened
/// together and closed together. Two implementations: the embedded RocksDB backend
/// (rocksdb_backend.hpp) and the Kafka journal with its local RocksDB index (kafka_backend.hpp).

#include <cstdint>
#include <string>
#include <vector>

#include <memory>
#include "hibiki/persistence/event_feed.hpp"
#include "hibiki/persistence/journal.hpp"
#include "hibiki/persistence/membership.hpp"
#include "hibiki/persistence/position_store.hpp"
#include "hibiki/persistence/read_store.hpp"
#include "hibiki/persistence/shard_control.hpp"
#include "hibiki/persistence/snapshot_store.hpp"

namespace hibiki::persistence {

/// One journal partition this node owns (Kafka only).
struct partition_status {
  std::int32_t partition = 0;
  /// "catching_up" (reading the topic into the index before serving), "ready" (serving),
  /// "recovering" (after a failed or uncertain commit: re-fencing and catching up again).
  /// Clustered backends (shard_control.hpp) also report "following" (indexing a partition
  /// another node writes) and "acquiring" (taking it over).
  std::string state;
  std::int64_t indexed_offset = -1;  ///< next offset the index will read (all before it indexed)
  std::int64_t end_offset = -1;      ///< the partition's end (high watermark); -1 when unknown
  std::int64_t lag = -1;             ///< end_offset - indexed_offset; -1 when unknown
  std::string last_error;            ///< empty when none
};

/// What `hibiki journal status` shows. Filled by the backend; the breaker fields by the node.
struct journal_status {
  std::string kind;                  ///< "rocksdb" or "kafka"
  std::string brokers;               ///< Kafka bootstrap servers (kafka only)
  std::string topic;                 ///< journal topic (kafka only)
  std::int32_t partition_count = 0;  ///< partitions of the topic (kafka only)
  /// Kafka only: every partition (single node: it owns them all; clustered: owned or followed).
  std::vector<partition_status> partitions;
  std::uint64_t appends = 0;   ///< appends acknowledged since open
  std::uint64_t rejected = 0;  ///< refused: conflict, bad_request, too_large
  std::uint64_t failed = 0;    ///< failed: unavailable
  /// Kafka only: partitions not serving nor following yet (state "catching_up", "recovering" or
  /// "acquiring"), and the records left to index over every partition whose end is known (the
  /// sum of `lag`). Both 0 when caught up; a /readyz check reads them.
  std::int32_t partitions_catching_up = 0;
  std::int64_t offsets_to_index = 0;
  std::string breaker_state;           ///< "closed", "open", "half_open" (set by node)
  std::uint32_t breaker_failures = 0;  ///< consecutive failures counted by the breaker
};

class backend {
 public:
  virtual ~backend() = default;

  virtual persistence::journal& journal() = 0;
  virtual persistence::snapshot_store& snapshots() = 0;
  virtual persistence::read_store& reads() = 0;

  /// Shard ownership when the backend is clustered (Kafka with kafka_options::cluster); null
  /// when this node owns every partition for good (embedded RocksDB, single-node Kafka).
  virtual shard_control* shards() { return nullptr; }

  /// The cluster membership that decides which shards this node gets: non-null exactly when
  /// shards() is. The backend owns it; it lives until the backend is destroyed.
  virtual persistence::membership* membership() { return nullptr; }
  /// A new reader of the journal as one stream (event_feed.hpp), for a read-side projection.
  /// Each call opens its own reader (Kafka: its own consumer). Null when the backend has no feed.
  virtual std::unique_ptr<event_feed> open_feed() { return nullptr; }
  /// Feed positions shared by the nodes (position_store.hpp) for the projection `name` that
  /// follows only the owned partitions (Kafka: the committed offsets of the consumer group
  /// "hibiki-projection-<name>-<topic>"). Null when positions are not shared (one node owns every
  /// partition for good: embedded RocksDB), or the store cannot be opened (logged).
  virtual std::shared_ptr<position_store> open_position_store(const std::string& name) {
    (void)name;
    return nullptr;
  }

  /// The writer id the backend stamps on what it writes for this node incarnation (Kafka: chosen
  /// at open from the node's name); empty when the node should pick one.
  virtual std::string writer_id() const { return {}; }

  /// What the backend is, without asking anyone: kind, and for Kafka brokers, topic and
  /// partition count; no counters. For when status() cannot answer.
  virtual journal_status identity() const = 0;

  /// A fresh look at the journal. May ask the broker (Kafka: end offsets), bounded by ~1 s.
  virtual journal_status status() = 0;

  /// Finishes or fails every append already queued (each callback runs exactly once), then stops
  /// the backend's threads. Appends after close fail with `unavailable`. Idempotent.
  virtual void close() = 0;
};

}  // namespace hibiki::persistence
