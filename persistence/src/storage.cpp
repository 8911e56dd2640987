/// open_backend: storage_options -> the embedded RocksDB backend or the Kafka backend (single
/// node or clustered). The writer id a Kafka node stamps in its records is made here, from the
/// node's name, so an operator reading the topic can tell which node incarnation wrote what.

#include "hibiki/persistence/storage.hpp"

#include <unistd.h>

#include <random>

#include "hibiki/persistence/kafka_backend.hpp"
#include "hibiki/persistence/rocksdb_backend.hpp"

namespace hibiki::persistence {

namespace {

/// <node>-<pid>-<16 hex digits>: unique per node incarnation.
std::string incarnation_writer_id(const std::string& node) {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  static constexpr char hex[] = "0123456789abcdef";
  std::string id =
      (node.empty() ? std::string("node") : node) + "-" + std::to_string(::getpid()) + "-";
  for (int i = 0; i < 16; ++i) id.push_back(hex[rng() % 16]);
  return id;
}

result<std::unique_ptr<backend>> open_rocksdb(const storage_options& options) {
  if (!options.cluster_endpoint.empty()) {
    // Shard ownership and fencing come from Kafka: there is no cluster on the embedded journal.
    return error{errc::bad_request, "a cluster needs the Kafka journal (hibikid --journal=kafka)"};
  }
  rocksdb_options ro;
  ro.path = options.data_dir;
  ro.sync = options.sync_writes;
  ro.metrics = options.metrics;
  if (options.progress) {
    if (options.progress->cancelled()) return error{errc::unavailable, "opening cancelled"};
    options.progress->set_step("opening the journal: opening " + options.data_dir);
  }
  auto opened = rocksdb_backend::open(ro);
  if (!opened) {
    return error{errc::unavailable,
                 "cannot open " + options.data_dir + ": " + opened.error().message};
  }
  return std::unique_ptr<backend>(std::move(*opened));
}

result<std::unique_ptr<backend>> open_kafka(const storage_options& options) {
  if (options.kafka_brokers.empty()) {
    return error{errc::bad_request,
                 "the Kafka journal needs brokers (storage_options::kafka_brokers, "
                 "hibikid --kafka-brokers=HOST:PORT)"};
  }
  if (options.kafka_topic.empty())
    return error{errc::bad_request, "the Kafka journal needs a topic name"};
  if (options.kafka_partitions <= 0) {
    return error{errc::bad_request, "the Kafka journal needs at least one partition (got " +
                                        std::to_string(options.kafka_partitions) + ")"};
  }
  if (auto st = check_kafka_settings(options.kafka_config); !st) return st.error();
  kafka_options ko;
  ko.brokers = options.kafka_brokers;
  ko.topic = options.kafka_topic;
  ko.partitions = options.kafka_partitions;
  ko.writer_id = incarnation_writer_id(options.node_name);
  ko.cluster = !options.cluster_endpoint.empty();
  if (ko.cluster) {
    ko.member_name = (options.node_name.empty() ? std::string("node") : options.node_name) + "@" +
                     options.cluster_endpoint;
    ko.session_timeout = options.cluster_session_timeout;
  }
  ko.local.path = options.data_dir;
  ko.local.sync = options.sync_writes;
  ko.extra_config = options.kafka_config;
  ko.open_timeout = options.kafka_open_timeout;
  ko.producer_per_partition = options.kafka_producer_per_partition;
  ko.metrics = options.metrics;
  ko.progress = options.progress;
  auto opened = kafka_backend::open(ko);
  if (!opened) {
    if (opened.error().code == errc::bad_request) return opened.error();
    return error{errc::unavailable, "cannot open the Kafka journal " + options.kafka_topic +
                                        " at " + options.kafka_brokers + ": " +
                                        opened.error().message};
  }
  return std::unique_ptr<backend>(std::move(*opened));
}

}  // namespace

result<std::unique_ptr<backend>> open_backend(const storage_options& options) {
  return options.journal == journal_kind::kafka ? open_kafka(options) : open_rocksdb(options);
}

std::string describe_journal(const storage_options& options) {
  if (options.journal == journal_kind::kafka)
    return "kafka topic " + options.kafka_topic + " at " + options.kafka_brokers;
  return "rocksdb";
}

}  // namespace hibiki::persistence
