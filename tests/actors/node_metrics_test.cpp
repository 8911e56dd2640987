// The metrics a real node records (embedded RocksDB journal): requests by op and result through
// its sessions, send->ack, journal commits, and what its collector reads at scrape time (entities,
// recoveries, breaker, RocksDB memory). Read back through the strict exposition parser.

#include <catch2/catch.hpp>
#include <functional>

#include <condition_variable>
#include <future>
#include <mutex>

#include "../metrics/exposition.hpp"
#include "hibiki/actors/node.hpp"
#include "hibiki/metrics/registry.hpp"
#include "hibiki/persistence/storage.hpp"
#include "hibiki/testkit/temp_dir.hpp"

using namespace hibiki;
using hibiki::actors::node;
using hibiki::test::parse_exposition;
using hibiki::testkit::temp_dir;
using json = nlohmann::json;

namespace {

/// A client_link that keeps the replies by request id.
class reply_link final : public actors::client_link {
 public:
  void send(std::shared_ptr<const std::string> frame) override {
    auto j = json::parse(*frame, nullptr, false);
    std::lock_guard lock(mutex_);
    if (j.is_object() && j.contains("re") && j["re"].is_number_integer())
      replies_.emplace(j["re"].get<std::int64_t>(), j);
    changed_.notify_all();
  }
  void close(std::uint16_t, std::string) override {}
  // Takes every frame at once, so the output is always drained.
  void when_drained(std::size_t, std::function<void()> ready) override { ready(); }

  /// The reply to `id`, waiting a bounded time (a broken node fails the test, never hangs it).
  json reply(std::int64_t id) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return replies_.count(id) > 0; });
    auto it = replies_.find(id);
    return it == replies_.end() ? json() : it->second;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::multimap<std::int64_t, json> replies_;
};

}  // namespace

TEST_CASE("node metrics: requests, send->ack, commits, entities and storage memory",
          "[node][metrics]") {
  temp_dir dir;
  auto registry = metrics::registry::create();
  persistence::storage_options storage;
  storage.data_dir = dir.sub("data");
  storage.sync_writes = false;
  storage.metrics = registry;  // commits and RocksDB memory
  auto backend = persistence::open_backend(storage);
  REQUIRE(backend.ok());
  actors::node_options o;
  o.io_threads = 1;
  o.actor_threads = 2;
  o.metrics = registry;  // requests, entities, breaker
  auto started = node::start(std::move(*backend), o);
  REQUIRE(started.ok());
  auto& n = *started.value();

  std::promise<result<actors::signup_result>> signed_up;
  n.signup("alice", [&](auto r) { signed_up.set_value(std::move(r)); });
  auto alice = signed_up.get_future().get();
  REQUIRE(alice.ok());

  auto link = std::make_shared<reply_link>();
  auto session = n.open_session(link);
  session->on_text(R"({"id":1,"op":"list_rooms"})");  // before auth: refused, closed 1008
  REQUIRE(link->reply(1)["error"]["code"] == "unauthenticated");
  session->on_closed();

  link = std::make_shared<reply_link>();
  session = n.open_session(link);
  session->on_text("not json");
  session->on_text(json{{"id", 2}, {"op", "auth"}, {"token", alice->token}}.dump());
  REQUIRE(link->reply(2)["ok"] == true);
  session->on_text(R"({"id":3,"op":"create_room","name":"r","members":[]})");
  auto room = link->reply(3);
  REQUIRE(room["ok"] == true);
  for (int i = 0; i < 5; ++i) {
    session->on_text(json{{"id", 10 + i},
                          {"op", "send_message"},
                          {"room_id", room["room_id"]},
                          {"body", "hello"},
                          {"client_msg_id", "m" + std::to_string(i)}}
                         .dump());
  }
  for (int i = 0; i < 5; ++i) REQUIRE(link->reply(10 + i)["ok"] == true);
  session->on_text(
      R"({"id":20,"op":"send_message","room_id":424242,"body":"x","client_msg_id":"y"})");
  const auto refused = link->reply(20);
  REQUIRE(refused["ok"] == false);
  const auto refused_code = refused["error"]["code"].get<std::string>();
  // A client reusing a request id: both requests are counted.
  session->on_text(R"({"id":30,"op":"ping"})");
  session->on_text(R"({"id":30,"op":"ping"})");
  REQUIRE(link->reply(30)["ok"] == true);
  session->on_text(R"({"id":31,"op":"ping"})");  // after both pings, in order
  REQUIRE(link->reply(31)["ok"] == true);

  auto e = parse_exposition(o.metrics->exposition());
  INFO(e.error);
  REQUIRE(e.error.empty());
  CHECK(e.value("hibiki_requests_total", {{"op", "send_message"}, {"result", "ok"}}) == 5.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "send_message"}, {"result", refused_code}}) ==
        1.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "list_rooms"}, {"result", "unauthenticated"}}) ==
        1.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "invalid"}, {"result", "bad_request"}}) == 1.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "auth"}, {"result", "ok"}}) == 1.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "create_room"}, {"result", "ok"}}) == 1.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "ping"}, {"result", "ok"}}) == 3.0);
  // Only acknowledged sends are timed.
  CHECK(e.value("hibiki_send_ack_seconds_count") == 5.0);
  // Sign-up, room creation and the sends each went through a group commit.
  CHECK(e.value("hibiki_journal_commit_seconds_count").value_or(0) >= 3);
  CHECK(e.value("hibiki_journal_commit_appends_sum").value_or(0) >= 8);
  CHECK(e.value("hibiki_journal_breaker_state", {{"state", "closed"}}) == 1.0);
  CHECK(e.value("hibiki_live_entities", {{"kind", "room"}}).value_or(0) >= 1);
  CHECK(e.value("hibiki_live_entities", {{"kind", "user"}}).value_or(0) >= 1);
  CHECK(e.value("hibiki_recoveries_total").value_or(0) >= 2);  // alice's user, the room
  CHECK(e.value("hibiki_recoveries_in_flight") == 0.0);
  CHECK(e.value("hibiki_rocksdb_memory_bytes", {{"kind", "memtables"}}).value_or(0) > 0);
  CHECK(e.value("hibiki_rocksdb_memory_bytes", {{"kind", "block_cache"}}).has_value());
  CHECK(e.value("hibiki_rocksdb_memory_bytes", {{"kind", "table_readers"}}).has_value());
  CHECK_FALSE(e.types.count("hibiki_journal_partition_lag_records"));  // Kafka only

  session->on_closed();
  n.stop();
  // Stopped: the node's and the database's collectors are gone; a scrape still works.
  auto after = parse_exposition(o.metrics->exposition());
  CHECK(after.error.empty());
}
