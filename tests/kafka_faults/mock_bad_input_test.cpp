/// Bad inputs to the Kafka backend, against the mock cluster: a broker that is down, a topic that
/// does not exist, a topic with another partition count, properties librdkafka rejects. Each is
/// answered (never a hang), with the contract's error codes.

#include <string>

#include <catch2/catch.hpp>

#include "mock_cluster.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using persistence::kafka_backend;

TEST_CASE("open against a broker that is down fails with unavailable within open_timeout",
          "[kafka]") {
  temp_dir dir("hibiki-kafka-faults");
  mock_cluster cluster;
  const auto topic = random_id("journal");
  cluster.create_topic(topic, 2);
  cluster.set_down();
  auto options = mock_options(cluster, topic, dir);
  options.open_timeout = std::chrono::milliseconds(3'000);
  auto opened = open_bounded(options);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().code == errc::unavailable);
  CHECK_FALSE(opened.error().message.empty());
}

TEST_CASE("open against a cluster without the topic is answered", "[kafka]") {
  // The 2.0.2 mock has no CreateTopics request, so the backend cannot create the topic there: it
  // must say so (unavailable) instead of hanging or serving without a topic. Should it still get
  // a topic (the mock auto-creates topics on metadata requests), it must then work.
  temp_dir dir("hibiki-kafka-faults");
  mock_cluster cluster;
  auto options = mock_options(cluster, random_id("missing"), dir);
  options.open_timeout = std::chrono::milliseconds(5'000);
  auto opened = open_bounded(options);
  if (!opened) {
    CHECK(opened.error().code == errc::unavailable);
    CHECK_FALSE(opened.error().message.empty());
    return;
  }
  auto& j = (*opened)->journal();
  const auto entity = random_id("room");
  REQUIRE(code_of(append_bounded(j, events(entity, 1, 2, "w"))) == errc::ok);
  CHECK(seqs_of(replay_all(j, entity, 1, persistence::max_seq, 10)) == std::vector<seq_nr>{1, 2});
  CHECK((*opened)->status().partition_count >= 1);
  (*opened)->close();
}

TEST_CASE("an existing topic keeps its partition count", "[kafka]") {
  temp_dir dir("hibiki-kafka-faults");
  mock_cluster cluster;
  const auto topic = random_id("journal");
  cluster.create_topic(topic, 3);
  auto options = mock_options(cluster, topic, dir);
  options.partitions = 16;
  auto opened = open_ok(options);
  auto& backend = *opened;
  const auto st = backend.status();
  CHECK(st.kind == "kafka");
  CHECK(st.topic == topic);
  CHECK(st.partition_count == 3);
  CHECK(st.partitions.size() == 3);
  // One entity on each partition: all are owned and take writes.
  for (std::int32_t p = 0; p < 3; ++p) {
    const auto entity = entity_on(p, 3, "p" + std::to_string(p));
    REQUIRE(code_of(append_bounded(backend.journal(), events(entity, 1, 1, "w"))) == errc::ok);
    CHECK(backend.journal().highest_seq(entity).value() == 1);
  }
  backend.close();
}

TEST_CASE("bad options are refused with bad_request", "[kafka]") {
  temp_dir dir("hibiki-kafka-faults");
  mock_cluster cluster;
  const auto topic = random_id("journal");
  cluster.create_topic(topic, 2);

  SECTION("a property librdkafka does not know") {
    auto options = mock_options(cluster, topic, dir);
    options.extra_config.emplace_back("no.such.property", "1");
    auto opened = open_bounded(options);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == errc::bad_request);
  }
  SECTION("no brokers") {
    auto options = mock_options(cluster, topic, dir);
    options.brokers.clear();
    auto opened = open_bounded(options);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == errc::bad_request);
  }
  SECTION("an empty topic name") {
    auto options = mock_options(cluster, topic, dir);
    options.topic.clear();
    auto opened = open_bounded(options);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == errc::bad_request);
  }
}

TEST_CASE("a bad append is rejected by the journal and does not count as a failure", "[kafka]") {
  temp_dir dir("hibiki-kafka-faults");
  mock_cluster cluster;
  const auto topic = random_id("journal");
  cluster.create_topic(topic, 2);
  auto opened = open_ok(mock_options(cluster, topic, dir));
  auto& backend = *opened;
  auto& j = backend.journal();
  const auto entity = random_id("room");
  REQUIRE(code_of(append_bounded(j, events(entity, 1, 1, "w"))) == errc::ok);
  // A gap and a repeat are conflicts, found in the local index without asking Kafka.
  CHECK(code_of(append_bounded(j, events(entity, 3, 3, "w"))) == errc::conflict);
  CHECK(code_of(append_bounded(j, events(entity, 1, 1, "w"))) == errc::conflict);
  // An event over the limit is too_large; an empty payload is a bad_request.
  auto big = events(entity, 2, 2, "w");
  big.events[0].payload.assign(128 * 1024, 'x');
  CHECK(code_of(append_bounded(j, big)) == errc::too_large);
  auto empty = events(entity, 2, 2, "w");
  empty.events[0].payload.clear();
  CHECK(code_of(append_bounded(j, empty)) == errc::bad_request);
  const auto st = backend.status();
  CHECK(st.rejected == 4);
  CHECK(st.failed == 0);
  CHECK(j.highest_seq(entity).value() == 1);
  backend.close();
}
