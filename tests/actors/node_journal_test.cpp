// The node's journal wiring: which backend it opens, the errors of a bad Kafka configuration,
// and journal_status() on the embedded journal (the Kafka one is covered by the kafka tests).

#include <catch2/catch.hpp>

#include <fstream>
#include <future>

#include "hibiki/actors/node.hpp"
#include "hibiki/testkit/temp_dir.hpp"

using hibiki::errc;
using hibiki::actors::journal_kind;
using hibiki::actors::node;
using hibiki::actors::node_options;
using hibiki::testkit::temp_dir;
using json = nlohmann::json;

namespace {

node_options options_in(const temp_dir& dir) {
  node_options o;
  o.data_dir = dir.sub("data");
  o.sync_writes = false;
  o.io_threads = 1;
  o.actor_threads = 2;
  return o;
}

}  // namespace

TEST_CASE("node: the embedded journal reports its status and the breaker", "[node][journal]") {
  temp_dir dir;
  auto o = options_in(dir);
  o.breaker.max_failures = 4;
  o.breaker.call_timeout = std::chrono::milliseconds(1500);
  o.breaker.reset_timeout = std::chrono::milliseconds(0);
  auto started = node::start(o);
  REQUIRE(started.ok());
  auto& n = *started.value();

  auto before = n.journal_status();
  REQUIRE(before["kind"] == "rocksdb");
  REQUIRE(before["partitions"] == json::array());
  REQUIRE(before["partition_count"] == 0);
  REQUIRE(before["appends"] == 0);
  REQUIRE_FALSE(before.contains("error"));
  REQUIRE(before["breaker"] == json{{"state", "closed"},
                                    {"consecutive_failures", 0},
                                    {"max_failures", 4},
                                    {"call_timeout_ms", 1500},
                                    {"reset_timeout_ms", 0}});

  // A sign-up appends through the breaker to the backend, which counts it.
  std::promise<bool> signed_up;
  n.signup("alice", [&](auto r) { signed_up.set_value(r.ok()); });
  REQUIRE(signed_up.get_future().get());
  auto after = n.journal_status();
  REQUIRE(after["appends"].get<std::uint64_t>() >= 2);  // the id allocator and the user
  REQUIRE(after["failed"] == 0);
  REQUIRE(after["breaker"]["state"] == "closed");

  n.stop();
  auto stopped = n.journal_status();
  REQUIRE(stopped["kind"] == "rocksdb");
  REQUIRE(stopped["error"] == "the node is stopped");
  REQUIRE(stopped["appends"].is_null());
}

TEST_CASE("node: the Kafka journal refuses a bad configuration before connecting",
          "[node][journal]") {
  temp_dir dir;
  auto o = options_in(dir);
  o.journal = journal_kind::kafka;
  SECTION("no brokers") {
    auto r = node::start(o);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().code == errc::bad_request);
    REQUIRE(r.error().message.find("brokers") != std::string::npos);
  }
  SECTION("no topic") {
    o.kafka_brokers = "127.0.0.1:1";
    o.kafka_topic.clear();
    auto r = node::start(o);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().code == errc::bad_request);
    REQUIRE(r.error().message.find("topic") != std::string::npos);
  }
  SECTION("no partitions") {
    o.kafka_brokers = "127.0.0.1:1";
    for (std::int32_t partitions : {0, -1}) {
      o.kafka_partitions = partitions;
      auto r = node::start(o);
      REQUIRE_FALSE(r.ok());
      REQUIRE(r.error().code == errc::bad_request);
      REQUIRE(r.error().message.find("partition") != std::string::npos);
    }
  }
}

TEST_CASE("node: a data dir that cannot be opened is unavailable", "[node][journal]") {
  temp_dir dir;
  auto o = options_in(dir);
  std::ofstream(dir.sub("file")) << "not a directory";
  o.data_dir = dir.sub("file") + "/data";
  auto r = node::start(o);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == errc::unavailable);
  REQUIRE(r.error().message.find("cannot open") != std::string::npos);
}
