#pragma once
/// librdkafka's mock Kafka cluster (rdkafka_mock.h) for the fault tests: an in-process broker that
/// speaks the Kafka protocol (producer, idempotence, transactions, low-level consumer), with error
/// injection per request type and broker down/up. No real broker is needed.
///
/// What the 2.0.2 mock cannot do (read from its request handlers): it has no CreateTopics handler
/// (topics are made here with mock_topic_create), EndTxn writes no commit/abort markers and Fetch
/// reports no aborted transactions (a read_committed consumer sees the records of an aborted
/// transaction as if they were committed).

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must come after rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "hibiki/core/shard.hpp"
#include "hibiki/persistence/journal.hpp"
#include "hibiki/persistence/kafka_backend.hpp"
#include "journal_helpers.hpp"
#include "temp_dir.hpp"

namespace hibiki::testkit {

/// Kafka protocol request types (ApiKey) the tests inject errors into. rdkafka_protocol.h, which
/// names them, is not installed; the numbers are fixed by the Kafka protocol.
namespace api_key {
inline constexpr std::int16_t produce = 0;
inline constexpr std::int16_t init_producer_id = 22;
inline constexpr std::int16_t end_txn = 26;
}  // namespace api_key

/// The mock's only broker has id 1; -1 addresses every broker.
inline constexpr std::int32_t all_brokers = -1;
inline constexpr std::int32_t mock_broker_id = 1;

class mock_cluster {
 public:
  mock_cluster() {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The handle only keeps the cluster's books; it never talks to a broker itself.
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk_) rd_kafka_conf_destroy(conf);
    REQUIRE(rk_ != nullptr);
    cluster_ = rd_kafka_mock_cluster_new(rk_, 1);
    REQUIRE(cluster_ != nullptr);
  }
  ~mock_cluster() {
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
    if (rk_) rd_kafka_destroy(rk_);
  }
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;

  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

  void create_topic(const std::string& topic, int partitions) {
    REQUIRE(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  /// The next `errors.size()` requests of type `api` (to any broker) fail with these errors.
  void push_errors(std::int16_t api, const std::vector<rd_kafka_resp_err_t>& errors) {
    rd_kafka_mock_push_request_errors_array(cluster_, api, errors.size(), errors.data());
  }

  /// Injected errors of type `api` not yet consumed by a request.
  std::size_t pending_errors(std::int16_t api) const {
    size_t cnt = 0;
    REQUIRE(rd_kafka_mock_broker_error_stack_cnt(cluster_, mock_broker_id, api, &cnt) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
    return cnt;
  }

  /// Closes the broker's connections and refuses new ones (no leader change).
  void set_down() { REQUIRE(rd_kafka_mock_broker_set_down(cluster_, all_brokers) == 0); }
  void set_up() { REQUIRE(rd_kafka_mock_broker_set_up(cluster_, all_brokers) == 0); }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

/// Bound of every wait for an answer. Generous (a loaded 2-core machine must not fail a test); a
/// hang still fails in bounded time.
inline constexpr std::chrono::seconds answer_bound{60};

/// Options for a backend on the mock: short librdkafka timeouts so failures show up in seconds.
inline persistence::kafka_options mock_options(const mock_cluster& cluster,
                                               const std::string& topic, const temp_dir& dir,
                                               const std::string& local = "local") {
  persistence::kafka_options o;
  o.brokers = cluster.bootstraps();
  o.topic = topic;
  o.partitions = 4;
  o.replication_factor = 1;
  o.transactional_id_prefix = random_id("faults");
  o.request_timeout = std::chrono::milliseconds(2'000);
  o.open_timeout = std::chrono::milliseconds(30'000);
  o.max_event_bytes = 64 * 1024;
  o.local.path = dir.sub(local);
  o.local.sync = false;
  o.extra_config = {
      {"reconnect.backoff.ms", "20"},
      {"reconnect.backoff.max.ms", "200"},
      {"retry.backoff.ms", "20"},
      {"socket.connection.setup.timeout.ms", "2000"},
      {"topic.metadata.refresh.interval.ms", "1000"},
      {"log_level", "3"},
  };
  return o;
}

/// Opens a backend, bounded: open() must answer within `answer_bound`.
inline result<std::unique_ptr<persistence::kafka_backend>> open_bounded(
    const persistence::kafka_options& options) {
  auto fut = std::async(std::launch::async,
                        [options] { return persistence::kafka_backend::open(options); });
  const bool answered = fut.wait_for(answer_bound) == std::future_status::ready;
  REQUIRE(answered);
  return fut.get();
}

/// Opens a backend that must open; the error is shown when it does not.
inline std::unique_ptr<persistence::kafka_backend> open_ok(
    const persistence::kafka_options& options) {
  auto opened = open_bounded(options);
  INFO("open: " << (opened ? std::string("ok") : opened.error().message));
  REQUIRE(opened.ok());
  return std::move(*opened);
}

/// Appends through `j` and waits for the answer, bounded: every append must be answered.
inline status append_bounded(persistence::journal& j, persistence::append_request req) {
  auto answer = std::make_shared<std::promise<status>>();
  auto fut = answer->get_future();
  j.async_append(std::move(req), [answer](status s) { answer->set_value(std::move(s)); });
  const bool answered = fut.wait_for(answer_bound) == std::future_status::ready;
  REQUIRE(answered);
  return fut.get();
}

/// An entity id that Kafka's partitioner puts on `partition` of `count`.
inline entity_id entity_on(std::int32_t partition, std::int32_t count, const std::string& tag) {
  for (;;) {
    auto id = random_id(tag);
    if (hibiki::shard_of(id, count) == partition) return id;
  }
}

/// Polls `probe` every 50 ms until it returns true or `bound` has passed; true if it did.
/// For states that a fault leaves behind for a while (a partition recovering in the background).
template <class Probe>
bool eventually(Probe&& probe, std::chrono::seconds bound = answer_bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return probe();
}

/// The entity's highest seq once its partition serves reads again (it answers `unavailable` while
/// it recovers from a failed commit). nullopt if it did not within the bound.
inline std::optional<seq_nr> highest_when_readable(persistence::journal& j,
                                                   const entity_id& entity) {
  std::optional<seq_nr> out;
  eventually([&] {
    auto h = j.highest_seq(entity);
    if (h) out = *h;
    return h.ok();
  });
  return out;
}

/// The entity's events (replayed in full) once its partition serves reads again.
inline std::vector<persistence::persisted_event> replay_when_readable(persistence::journal& j,
                                                                      const entity_id& entity) {
  std::vector<persistence::persisted_event> out;
  const bool ok = eventually([&] {
    status st;
    out = replay_all(j, entity, 1, persistence::max_seq, 1'000'000, &st);
    return st.ok();
  });
  REQUIRE(ok);
  return out;
}

}  // namespace hibiki::testkit
