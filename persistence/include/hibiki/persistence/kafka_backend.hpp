#pragma once
/// The Kafka backend: the journal is one Kafka topic, the source of truth; snapshots, read models
/// and an index of the journal live in a local RocksDB database.
///
///  - Topic: `topic`, `partitions` partitions (created when missing), key = entity id, partition =
///    shard_of(entity, partitions) (core/shard.hpp: Kafka's default murmur2 partitioner), so
///    partition = shard.
///  - Writes: a writer thread per partition takes every queued append of its partition; an
///    append is acknowledged only after the transaction carrying it committed (Kafka group
///    commit). A single node has ONE transactional producer, `transactional.id` =
///    `<transactional_id_prefix>-<topic>`, `acks=all`: the partitions' batches that wait at the
///    same time share one transaction (decision 0040). Clustered (or `producer_per_partition`):
///    one producer per owned partition, `transactional.id` =
///    `<transactional_id_prefix>-<topic>-<partition>`, one transaction per partition. Opening
///    calls init_transactions, which fences any earlier producer of the same id; each scheme
///    also fences the other's ids, so the two never write side by side.
///  - Records: one record per event, value = {writer id, seq, payload} plus, on the last event of
///    an append, the read-model rows the append caused; a delete_to is a record of its own. So the
///    topic alone can rebuild the index AND the read models ("fed from the same stream").
///  - Index: local RocksDB (events by entity and seq, journal meta, per-partition next offset in
///    the same WriteBatch). The owner indexes what it committed itself; on open (and after an
///    uncertain commit) it catches up by consuming, read_committed, from its stored offset to the
///    end of the partition before serving. replay/highest_seq read only the index.
///  - Replay filter: when indexing, an event whose seq is not above the entity's highest is
///    discarded and logged (a write that slipped past fencing), never indexed twice.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hibiki/core/result.hpp"
#include "hibiki/persistence/backend.hpp"
#include "hibiki/persistence/open_progress.hpp"
#include "hibiki/persistence/rocksdb_backend.hpp"

namespace hibiki::persistence {

struct kafka_options {
  /// Bootstrap servers, "host:port[,host:port]". Required.
  std::string brokers;
  /// The journal topic. Default: hibiki.journal
  std::string topic = "hibiki.journal";
  /// Partitions when the node creates the topic. An existing topic keeps its own count.
  std::int32_t partitions = 16;
  /// Replication factor when the node creates the topic; -1 = the broker's default.
  std::int16_t replication_factor = -1;
  /// Prefix of the producers' transactional.id. Nodes of one cluster share it.
  std::string transactional_id_prefix = "hibiki";
  /// This node incarnation's writer id, stored in every event. Empty: generated (random).
  std::string writer_id;
  /// Longest one broker call may take (init_transactions, commit, abort). Default: 10 s.
  std::chrono::milliseconds request_timeout{10'000};
  /// How long open() waits for every partition to be fenced and caught up. Default: 120 s.
  std::chrono::milliseconds open_timeout{120'000};
  /// Largest encoded event accepted (too_large above it). Default: 1 MiB.
  std::size_t max_event_bytes = 1 << 20;
  /// Most appends in one transaction. Default: 4096.
  std::size_t max_batch_appends = 4096;
  /// The local database (index, snapshots, read models). `local.sync` is ignored for the index
  /// (Kafka is the source of truth; a lost index write is re-read from the topic on open).
  rocksdb_options local;
  /// Single node: one transactional producer per partition, each partition committing its own
  /// transactions, instead of one producer whose transactions carry every partition's batch
  /// (decision 0040). Clustered nodes always have one per owned partition. Default: false.
  bool producer_per_partition = false;
  /// Clustered: open() owns no partition; it indexes every partition (following, see
  /// shard_control.hpp) and waits, within open_timeout, until the index has caught up with the
  /// topic's end as of open. Ownership then comes through shards()->acquire/release. Default:
  /// false — the node owns every partition, as a single node.
  bool cluster = false;
  /// Clustered: this node's member name in the cluster's group ("<node>@<cluster endpoint>",
  /// its client.id; membership()->join refuses an empty one), and the group's session timeout.
  /// Default: empty, 10 s.
  std::string member_name;
  std::chrono::milliseconds session_timeout{10'000};
  /// Extra librdkafka properties, applied last (tests point them at the mock cluster, tune
  /// timeouts). Applied to producers, consumers and the admin client alike.
  std::vector<std::pair<std::string, std::string>> extra_config;
  /// Where transaction commits (and, when `local.metrics` is null, the local database's memory)
  /// are reported (metrics/README.md). Default: null = not recorded.
  std::shared_ptr<metrics::registry> metrics;
  /// open() reports its steps and, while it fences and catches up, each partition here, and gives
  /// up when it is cancelled (open_progress.hpp). Default: null.
  std::shared_ptr<open_progress> progress;
};

class kafka_backend : public backend {
 public:
  /// Connects, creates the topic when missing, opens the local database, then fences and catches
  /// up every partition (single node), or follows them all (options.cluster). Errors:
  /// bad_request (options), unavailable (broker unreachable within open_timeout, local db).
  static result<std::unique_ptr<kafka_backend>> open(const kafka_options& options);
};

}  // namespace hibiki::persistence
