// The storage wiring: persistence::open_backend (which backend, the errors of a bad Kafka
// configuration), node::start over an opened backend (and what it refuses), and journal_status()
// on the embedded journal (the Kafka one is covered by the kafka tests).

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <future>

#include "hibiki/actors/node.hpp"
#include "hibiki/persistence/storage.hpp"
#include "hibiki/testkit/temp_dir.hpp"

using hibiki::errc;
using hibiki::actors::node;
using hibiki::actors::node_options;
using hibiki::persistence::journal_kind;
using hibiki::persistence::storage_options;
using hibiki::testkit::temp_dir;
using json = nlohmann::json;

namespace {

node_options options_in(const temp_dir&) {
  node_options o;
  o.io_threads = 1;
  o.actor_threads = 2;
  return o;
}

storage_options storage_in(const temp_dir& dir) {
  storage_options s;
  s.data_dir = dir.sub("data");
  s.sync_writes = false;
  return s;
}

hibiki::result<std::unique_ptr<node>> start(const temp_dir& dir, const node_options& o) {
  auto backend = hibiki::persistence::open_backend(storage_in(dir));
  if (!backend) return backend.error();
  return node::start(std::move(*backend), o);
}

}  // namespace

TEST_CASE("node: the embedded journal reports its status and the breaker", "[node][journal]") {
  temp_dir dir;
  auto o = options_in(dir);
  o.breaker.max_failures = 4;
  o.breaker.call_timeout = std::chrono::milliseconds(1500);
  o.breaker.reset_timeout = std::chrono::milliseconds(0);
  auto started = start(dir, o);
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

TEST_CASE("open_backend: the Kafka journal refuses a bad configuration before connecting",
          "[node][journal]") {
  temp_dir dir;
  auto o = storage_in(dir);
  o.journal = journal_kind::kafka;
  auto expect_bad = [&](const char* says) {
    auto r = hibiki::persistence::open_backend(o);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().code == errc::bad_request);
    REQUIRE(r.error().message.find(says) != std::string::npos);
  };
  SECTION("no brokers") {
    expect_bad("brokers");
  }
  SECTION("no topic") {
    o.kafka_brokers = "127.0.0.1:1";
    o.kafka_topic.clear();
    expect_bad("topic");
  }
  SECTION("no partitions") {
    o.kafka_brokers = "127.0.0.1:1";
    for (std::int32_t partitions : {0, -1}) {
      o.kafka_partitions = partitions;
      expect_bad("partition");
    }
  }
  SECTION("a property hibiki owns, or one librdkafka does not know") {
    o.kafka_brokers = "127.0.0.1:1";
    o.kafka_config = {{"isolation.level", "read_uncommitted"}};
    expect_bad("set by hibiki itself");
    o.kafka_config = {{"no.such.property", "1"}};
    expect_bad("no.such.property");
  }
  SECTION("a cluster on the embedded journal") {
    o.journal = journal_kind::rocksdb;
    o.cluster_endpoint = "127.0.0.1:7000";
    expect_bad("a cluster needs the Kafka journal");
  }
  REQUIRE_FALSE(std::filesystem::exists(o.data_dir));  // refused before anything was created
}

TEST_CASE("node::start refuses a missing backend and a cluster endpoint without a cluster",
          "[node][journal]") {
  temp_dir dir;
  auto none = node::start(nullptr, options_in(dir));
  REQUIRE_FALSE(none.ok());
  REQUIRE(none.error().code == errc::bad_request);

  auto backend = hibiki::persistence::open_backend(storage_in(dir));
  REQUIRE(backend.ok());
  auto o = options_in(dir);
  o.cluster_listen = "127.0.0.1:7000";
  auto r = node::start(std::move(*backend), o);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == errc::bad_request);
  REQUIRE(r.error().message.find("clustered journal") != std::string::npos);
  // The refused backend was closed: the data dir opens again (RocksDB's lock is free).
  auto again = hibiki::persistence::open_backend(storage_in(dir));
  REQUIRE(again.ok());
  (*again)->close();
}

TEST_CASE("node: a data dir that cannot be opened is unavailable", "[node][journal]") {
  temp_dir dir;
  auto o = storage_in(dir);
  std::ofstream(dir.sub("file")) << "not a directory";
  o.data_dir = dir.sub("file") + "/data";
  auto r = hibiki::persistence::open_backend(o);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == errc::unavailable);
  REQUIRE(r.error().message.find("cannot open") != std::string::npos);
}
