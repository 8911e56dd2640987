#pragma once
/// The project's own small classes over librdkafka's C API, so no other file sees rdkafka.h's
/// raw handles or its error conventions. Each owns one rd_kafka_t and destroys it without
/// blocking for long (flush with a timeout, then purge).
///
///  - admin_client: topic creation, partition count, watermarks (also used by status()).
///  - txn_producer: one transactional producer; keeps the delivery report of each message of the
///    current transaction.
///  - partition_reader: a group-less consumer assigned to one partition (read_committed).
///  - assigned_consumer: a group-less consumer whose partitions are added and removed one at a
///    time (the clustered backend's follower).
///  - group_consumer: a consumer in a group, for membership only (kafka_membership.hpp): it
///    reports rebalances and fetches nothing.
///
/// This file and rdkafka_client.cpp are the only ones that name librdkafka (a layering test checks
/// it): the rest of the Kafka backend sees these classes.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hibiki/core/result.hpp"
#include "hibiki/persistence/kafka_membership.hpp"

struct rd_kafka_s;
struct rd_kafka_conf_s;
struct rd_kafka_message_s;

namespace hibiki::persistence::kafka {

using settings = std::vector<std::pair<std::string, std::string>>;
using millis = std::chrono::milliseconds;

/// What a connection needs: where the brokers are and the caller's extra properties, which are
/// applied last, after the settings of each client kind.
struct connection {
  std::string brokers;
  settings extra;
};

struct rd_kafka_deleter {
  void operator()(rd_kafka_s* rk) const;
};
using rd_kafka_ptr = std::unique_ptr<rd_kafka_s, rd_kafka_deleter>;

struct rd_kafka_conf_deleter {
  void operator()(rd_kafka_conf_s* conf) const;
};
using conf_ptr = std::unique_ptr<rd_kafka_conf_s, rd_kafka_conf_deleter>;

/// A conf with bootstrap.servers, then `own` (the client kind's settings), then the caller's
/// extra properties. bad_request for a property librdkafka rejects.
result<conf_ptr> make_conf(const connection& conn, const settings& own);

enum class client_kind { producer, consumer };
/// A client over `conf` (which it takes, so the caller can set callbacks on it first).
result<rd_kafka_ptr> make_client(client_kind kind, conf_ptr conf);

/// librdkafka's int milliseconds: `d` clamped to [0, INT_MAX].
int to_ms(millis d);

class admin_client {
 public:
  /// bad_request for a property librdkafka rejects. `own`: more settings (a client.id).
  static result<std::unique_ptr<admin_client>> create(const connection& conn,
                                                      const settings& own = {});
  /// An admin client whose end offsets are the high watermarks (read_uncommitted: past every
  /// record written, committed or not) instead of the last stable offsets. The read barrier
  /// uses it: a commit acknowledged to its writer may not have its markers written yet, so the
  /// last stable offset can still be below its records.
  static result<std::unique_ptr<admin_client>> create_high_watermark(const connection& conn);

  /// Creates the topic; "already exists" is success. unavailable on timeout or broker error.
  status create_topic(const std::string& topic, std::int32_t partitions,
                      std::int16_t replication_factor, const settings& topic_config,
                      millis timeout);
  /// The topic's partition count from the broker's metadata; not_found when it does not exist.
  result<std::int32_t> partition_count(const std::string& topic, millis timeout);
  /// The partition's end offset (see query_ends in the .cpp: bounded by `timeout` even while the
  /// broker is down).
  result<std::int64_t> end_offset(const std::string& topic, std::int32_t partition, millis timeout);
  /// The ends of partitions 0..partition_count-1 in one request; -1 for one that failed.
  result<std::vector<std::int64_t>> end_offsets(const std::string& topic,
                                                std::int32_t partition_count, millis timeout);
  /// The ends of `partitions` (in that order) in one request; -1 for one that failed.
  result<std::vector<std::int64_t>> end_offsets(const std::string& topic,
                                                const std::vector<std::int32_t>& partitions,
                                                millis timeout);
  /// The members of consumer group `group` and their assignments of `topic` (the Admin API's
  /// DescribeConsumerGroups). unavailable on timeout, broker error or no answer for the group.
  result<std::vector<kafka_group_member>> describe_group(const std::string& group,
                                                         const std::string& topic, millis timeout);

 private:
  explicit admin_client(rd_kafka_ptr rk) : rk_(std::move(rk)) {}
  rd_kafka_ptr rk_;
};

/// How a transactional call ended, in the categories librdkafka's transactional API defines.
struct txn_outcome {
  enum class kind { ok, abortable, retriable, fatal };
  kind what = kind::ok;
  bool fenced = false;  ///< another producer init'ed the same transactional.id
  std::string message;

  bool ok() const { return what == kind::ok; }
};

/// The delivery report of one message of the current transaction.
struct delivery {
  bool reported = false;
  int error = 0;  ///< rd_kafka_resp_err_t; 0 = delivered
  std::int64_t offset = -1;
};

class txn_producer {
 public:
  /// acks=all, idempotence on, `linger`, messages up to `message_max_bytes`.
  static result<std::unique_ptr<txn_producer>> create(const connection& conn,
                                                      const std::string& transactional_id,
                                                      std::size_t message_max_bytes, millis linger);
  ~txn_producer();

  txn_outcome init_transactions(millis timeout);
  /// Also forgets the delivery reports of the previous transaction.
  txn_outcome begin_transaction();
  /// Queues one message for `partition` (explicit: the producer's partitioner is not used).
  txn_outcome produce(const std::string& topic, std::int32_t partition, std::string_view key,
                      std::string_view value);
  txn_outcome commit_transaction(millis timeout);
  txn_outcome abort_transaction(millis timeout);
  /// Waits until every produced message was delivered (or `timeout`); true when none is left.
  bool flush(millis timeout);
  /// One per produce() of the current transaction, in produce order. Complete after a
  /// successful commit.
  const std::deque<delivery>& deliveries() const { return deliveries_; }

 private:
  explicit txn_producer(rd_kafka_ptr rk) : rk_(std::move(rk)) {}
  // Declared before rk_ so it outlives it: librdkafka may report deliveries while destroying.
  std::deque<delivery> deliveries_;
  rd_kafka_ptr rk_;
};

/// One consumed message; owns librdkafka's message.
class message {
 public:
  explicit message(rd_kafka_message_s* m) : m_(m) {}
  ~message();
  message(const message&) = delete;
  message& operator=(const message&) = delete;

  int error() const;  ///< rd_kafka_resp_err_t
  bool is_partition_eof() const;
  std::string error_text() const;
  std::int64_t offset() const;
  std::int32_t partition() const;
  std::string_view key() const;
  std::string_view value() const;

 private:
  rd_kafka_message_s* m_;
};

class partition_reader {
 public:
  /// Assigned to `partition` of `topic` from `offset`, read_committed, reporting partition EOF.
  /// Out-of-range offsets are an error, never a silent reset.
  static result<std::unique_ptr<partition_reader>> create(const connection& conn,
                                                          const std::string& topic,
                                                          std::int32_t partition,
                                                          std::int64_t offset);
  ~partition_reader();

  /// nullopt when nothing arrived within `timeout`.
  std::optional<message> poll(millis timeout);
  result<std::int64_t> end_offset(millis timeout);

 private:
  partition_reader(rd_kafka_ptr rk, std::string topic, std::int32_t partition)
      : rk_(std::move(rk)), topic_(std::move(topic)), partition_(partition) {}
  rd_kafka_ptr rk_;
  std::string topic_;
  std::int32_t partition_;
};

/// A consumer without a group subscription whose partitions are assigned incrementally: without a
/// subscription there is no rebalance protocol, so a partition can be added or removed at any
/// time without touching the other partitions' fetch positions.
class assigned_consumer {
 public:
  /// `own`: the consumer's settings (group.id for librdkafka 2.0's assign, isolation level...).
  static result<std::unique_ptr<assigned_consumer>> create(const connection& conn,
                                                           const settings& own);
  /// Unassigns everything.
  ~assigned_consumer();

  /// Starts fetching `partition` of `topic` at `offset`. unavailable with librdkafka's reason.
  status assign(const std::string& topic, std::int32_t partition, std::int64_t offset);
  /// Stops fetching it. unavailable with librdkafka's reason.
  status unassign(const std::string& topic, std::int32_t partition);
  /// nullopt when nothing arrived within `timeout` (0: do not wait).
  std::optional<message> poll(millis timeout);

 private:
  explicit assigned_consumer(rd_kafka_ptr rk) : rk_(std::move(rk)) {}
  rd_kafka_ptr rk_;
};

/// A consumer that only reads and commits a consumer group's offsets: configured with the
/// group.id, it never subscribes nor fetches, so it never joins the group (its commits are a
/// "simple consumer"'s, accepted while the group has no members).
class offset_committer {
 public:
  /// `own`: the consumer's settings (group.id at least).
  static result<std::unique_ptr<offset_committer>> create(const connection& conn,
                                                          const settings& own);
  /// The group's committed offsets of `partitions` of `topic`; a partition without one is
  /// absent. unavailable with librdkafka's reason.
  result<std::map<std::int32_t, std::int64_t>> committed(
      const std::string& topic, const std::vector<std::int32_t>& partitions, millis timeout);
  /// Commits `offsets` (partition -> next offset to read) of `topic` synchronously. unavailable
  /// with librdkafka's reason.
  status commit(const std::string& topic, const std::map<std::int32_t, std::int64_t>& offsets);

 private:
  explicit offset_committer(rd_kafka_ptr rk) : rk_(std::move(rk)) {}
  rd_kafka_ptr rk_;
};

/// A rebalance as a group_consumer reports it.
struct group_rebalance {
  bool assigned = false;  ///< partitions were added (else: taken away)
  /// The cooperative protocol's incremental change; false: an eager protocol's whole assignment
  /// (assigned) or a revocation of everything (taken away).
  bool incremental = false;
  /// Taken away without an orderly handback (session timed out, fenced out, a rebalance error).
  bool lost = false;
  std::vector<std::int32_t> partitions;  ///< of the subscribed topic, sorted and unique
};

/// A consumer in a consumer group, subscribed to one topic, for group membership only: each
/// partition assigned to it is positioned at the end and paused, so it fetches no records. Its
/// rebalances are reported to `on_rebalance` from inside poll() and close(); a revoked partition
/// goes back to the group only after `on_rebalance` returned. Failures of librdkafka's assign and
/// unassign calls are logged (component "cluster", with `log_name`); a failed assign is not
/// reported.
class group_consumer {
 public:
  using rebalance_handler = std::function<void(const group_rebalance&)>;
  /// `own`: the consumer's settings (group.id, client.id, the assignor, timeouts). Subscribes to
  /// `topic`; joining happens in poll(). Errors: bad_request (a property librdkafka rejects),
  /// unavailable (subscribe refused).
  static result<std::unique_ptr<group_consumer>> create(const connection& conn, const settings& own,
                                                        const std::string& topic,
                                                        std::string log_name,
                                                        rebalance_handler on_rebalance);
  ~group_consumer();
  group_consumer(const group_consumer&) = delete;
  group_consumer& operator=(const group_consumer&) = delete;

  /// Drives the group protocol (heartbeats, rebalances) for up to `timeout`; a message that
  /// arrives anyway (an error event, a record fetched between assign and pause) is dropped.
  void poll(millis timeout);
  /// Leaves the group; the final revocation is reported from here. Empty, or why leaving failed.
  std::string close();

 private:
  group_consumer(std::string topic, std::string log_name, rebalance_handler on_rebalance)
      : topic_(std::move(topic)),
        log_name_(std::move(log_name)),
        on_rebalance_(std::move(on_rebalance)) {}
  struct callbacks;  ///< librdkafka's rebalance callback (the .cpp)
  std::string topic_;
  std::string log_name_;
  rebalance_handler on_rebalance_;
  rd_kafka_ptr rk_;
};

}  // namespace hibiki::persistence::kafka
