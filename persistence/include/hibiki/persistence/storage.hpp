#pragma once
/// Opening a node's storage from plain options: the one place that chooses between the embedded
/// RocksDB journal, a single-node Kafka journal and a clustered Kafka journal (with its group
/// membership). hibikid opens the backend here and hands it to actors::node::start, so the actor
/// layer never names a storage engine.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "hibiki/core/result.hpp"
#include "hibiki/persistence/backend.hpp"
#include "hibiki/persistence/kafka_settings.hpp"
#include "hibiki/persistence/open_progress.hpp"

namespace hibiki::metrics {
class registry;
}

namespace hibiki::persistence {

/// Where the journal lives.
enum class journal_kind : std::uint8_t {
  rocksdb,  ///< embedded, in data_dir (the default: one machine, one command)
  kafka,    ///< a Kafka topic; data_dir then holds the local index, snapshots and read models
};

struct storage_options {
  /// Directory of the embedded RocksDB database (with Kafka: the local index). Default: ./data
  std::string data_dir = "./data";
  /// fsync group commits of the embedded journal. Default: true.
  bool sync_writes = true;
  /// Default: rocksdb.
  journal_kind journal = journal_kind::rocksdb;
  /// Kafka bootstrap servers, "host:port[,...]". Required when journal == kafka.
  std::string kafka_brokers;
  /// The journal topic. Default: hibiki.journal
  std::string kafka_topic = "hibiki.journal";
  /// Partitions when the node creates the topic. Default: 16.
  std::int32_t kafka_partitions = 16;
  /// Extra librdkafka properties for every Kafka client (TLS, SASL). Default: none.
  kafka_settings kafka_config;
  /// How long opening the Kafka journal may take (fencing, catch-up). Default: 120 s.
  std::chrono::milliseconds kafka_open_timeout{120'000};
  /// A single node's transactional producer per partition instead of one for every partition
  /// (kafka_options::producer_per_partition). Default: false.
  bool kafka_producer_per_partition = false;
  /// This node's name: the start of the Kafka writer id (with the pid and a random part) and of
  /// the cluster member name. Default: empty = "node".
  std::string node_name;
  /// Clustered when not empty: the endpoint where the other nodes reach this one ("HOST:PORT");
  /// the backend joins the cluster's group as "<node_name>@<cluster_endpoint>" (membership()).
  /// Requires journal == kafka. Default: empty = this node owns every shard.
  std::string cluster_endpoint;
  /// How long a silent node keeps its shards before the others get them. Default: 10 s.
  std::chrono::milliseconds cluster_session_timeout{10'000};
  /// Where commits and RocksDB memory are reported (metrics/README.md). Default: null = off.
  std::shared_ptr<metrics::registry> metrics;
  /// Where open_backend says how far it got (its step; the Kafka catch-up per partition) and
  /// looks for a cancel (open_progress.hpp). Default: null = nobody watches.
  std::shared_ptr<open_progress> progress;
};

/// Opens the backend `options` describe. Kafka: connects, creates the topic when missing, then
/// fences and catches up every partition (single node) or follows them all (clustered) within
/// kafka_open_timeout, logging its progress (and reporting it to `options.progress`). Errors:
/// bad_request (options, properties librdkafka refuses), unavailable (data dir, broker
/// unreachable, catch-up not done in time, "opening cancelled" after options.progress->cancel()).
result<std::unique_ptr<backend>> open_backend(const storage_options& options);

/// "rocksdb" or "kafka topic T at BROKERS": what the startup lines say about the journal.
std::string describe_journal(const storage_options& options);

}  // namespace hibiki::persistence
