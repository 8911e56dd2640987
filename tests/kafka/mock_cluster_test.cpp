/// The backend on librdkafka's mock cluster (no real broker): it must open when the topic already
/// exists (the mock does not serve CreateTopics), write, index and catch up a fresh node. The
/// fault tests on the mock cluster build on this.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "../persistence/journal_helpers.hpp"
#include "../persistence/temp_dir.hpp"
#include "hibiki/core/shard.hpp"
#include "hibiki/persistence/kafka_backend.hpp"

namespace hibiki::testkit {

namespace {

/// A mock cluster of one broker, owned by a producer handle (librdkafka's way of creating one).
class mock_cluster {
 public:
  mock_cluster() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    REQUIRE(rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err) ==
            RD_KAFKA_CONF_OK);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    REQUIRE(rk_);
    cluster_ = rd_kafka_handle_mock_cluster(rk_);
    REQUIRE(cluster_);
  }
  ~mock_cluster() { rd_kafka_destroy(rk_); }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void set_down() { REQUIRE(rd_kafka_mock_broker_set_down(cluster_, 1) == 0); }
  void set_up() { REQUIRE(rd_kafka_mock_broker_set_up(cluster_, 1) == 0); }
  void create_topic(const std::string& topic, int partitions) {
    REQUIRE(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1) == 0);
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace

TEST_CASE("kafka backend runs on librdkafka's mock cluster", "[kafka][mock]") {
  mock_cluster cluster;
  temp_dir dir("hibiki-kafka-mock");
  persistence::kafka_options options;
  options.brokers = cluster.bootstraps();
  options.topic = "mock-journal";
  options.partitions = 16;  // ignored: the existing topic keeps its 2
  options.local.path = dir.sub("a");
  options.request_timeout = std::chrono::seconds(5);
  options.open_timeout = std::chrono::seconds(30);
  cluster.create_topic(options.topic, 2);

  const std::string writer = random_id("writer");
  std::vector<entity_id> entities;
  for (int i = 0; i < 6; ++i) entities.push_back(random_id("mock"));
  {
    auto a = persistence::kafka_backend::open(options);
    REQUIRE(a.ok());
    CHECK((*a)->status().partition_count == 2);
    for (const auto& e : entities) REQUIRE((*a)->journal().append(events(e, 1, 2, writer)).ok());
    CHECK(code_of((*a)->journal().append(events(entities[0], 2, 2, writer))) == errc::conflict);
    (*a)->close();
  }
  options.local.path = dir.sub("b");
  auto b = persistence::kafka_backend::open(options);
  REQUIRE(b.ok());
  for (const auto& e : entities) {
    status st;
    auto evs = replay_all((*b)->journal(), e, 1, persistence::max_seq, 100, &st);
    REQUIRE(st.ok());
    CHECK(evs ==
          std::vector<persistence::persisted_event>{event(e, 1, writer), event(e, 2, writer)});
  }
  for (const auto& p : (*b)->status().partitions) CHECK(p.state == "ready");
}

TEST_CASE("kafka cluster: the read barrier answers unavailable when the broker is unreachable",
          "[kafka][mock][cluster]") {
  mock_cluster cluster;
  temp_dir dir("hibiki-kafka-mock");
  persistence::kafka_options options;
  options.brokers = cluster.bootstraps();
  options.topic = "mock-journal";
  options.local.path = dir.sub("a");
  options.request_timeout = std::chrono::seconds(5);
  options.open_timeout = std::chrono::seconds(30);
  options.cluster = true;
  cluster.create_topic(options.topic, 2);

  auto a = persistence::kafka_backend::open(options);
  REQUIRE(a.ok());
  auto* shards = (*a)->shards();
  REQUIRE(shards != nullptr);
  REQUIRE(shards->await_indexed({}, std::chrono::seconds(10)).ok());

  cluster.set_down();
  // Bounded by the call's own timeout (the test's only bound is ctest's), never a hang.
  const auto s = shards->await_indexed({0, 1}, std::chrono::milliseconds(1500));
  CHECK(code_of(s) == errc::unavailable);
  const auto one = shards->await_indexed({1}, std::chrono::milliseconds(500));
  CHECK(code_of(one) == errc::unavailable);
  (*a)->close();
}

TEST_CASE("kafka cluster: acquire retries while the broker is down, release stops it",
          "[kafka][mock][cluster]") {
  using persistence::shard_change;
  mock_cluster cluster;
  temp_dir dir("hibiki-kafka-mock");
  persistence::kafka_options options;
  options.brokers = cluster.bootstraps();
  options.topic = "mock-journal";
  options.local.path = dir.sub("a");
  options.request_timeout = std::chrono::seconds(2);
  options.open_timeout = std::chrono::seconds(30);
  options.cluster = true;
  cluster.create_topic(options.topic, 2);

  auto opened = persistence::kafka_backend::open(options);
  REQUIRE(opened.ok());
  auto& a = **opened;
  auto* shards = a.shards();
  REQUIRE(shards != nullptr);
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::pair<std::int32_t, shard_change>> heard;
  shards->set_listener([&](std::int32_t p, shard_change c) {
    std::lock_guard lock(m);
    heard.emplace_back(p, c);
    cv.notify_all();
  });
  auto heard_count = [&](std::int32_t p, shard_change c) {
    std::size_t n = 0;
    for (const auto& h : heard) n += h.first == p && h.second == c;
    return n;
  };
  entity_id e;
  do {
    e = random_id("mock");
  } while (hibiki::shard_of(e, 2) != 0);

  cluster.set_down();
  shards->acquire(0);
  // Bounded wait until the first attempt has failed and the backend is retrying.
  persistence::partition_status ps;
  for (int i = 0; i < 600; ++i) {
    ps = a.status().partitions.at(0);
    if (!ps.last_error.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO("partition 0: " << ps.state << " / " << ps.last_error);
  CHECK(ps.state == "acquiring");
  CHECK_FALSE(ps.last_error.empty());
  CHECK(code_of(a.journal().append(events(e, 1, 1, "a"))) == errc::moved);

  shards->release(0);  // stops the retries; heard before release returns
  {
    std::lock_guard lock(m);
    CHECK(heard_count(0, shard_change::released) == 1);
    CHECK(heard_count(0, shard_change::serving) == 0);
  }
  CHECK(a.status().partitions.at(0).state == "following");
  CHECK(code_of(a.journal().append(events(e, 1, 1, "a"))) == errc::moved);

  cluster.set_up();
  shards->acquire(0);
  {
    std::unique_lock lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60),
                        [&] { return heard_count(0, shard_change::serving) == 1; }));
  }
  CHECK(a.journal().append(events(e, 1, 1, "a")).ok());
  a.close();
}

}  // namespace hibiki::testkit
