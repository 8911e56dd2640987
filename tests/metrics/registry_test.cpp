/// The metric families hibiki exports and their text exposition, read back with a strict parser.

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "exposition.hpp"
#include "hibiki/metrics/registry.hpp"

using namespace hibiki;
using hibiki::test::parse_exposition;
using namespace std::chrono_literals;

TEST_CASE("a fresh registry exposes its unlabelled families with type and help", "[metrics]") {
  auto reg = metrics::registry::create();
  auto e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  const std::map<std::string, std::string> expected = {
      {"hibiki_websocket_connections", "gauge"},
      {"hibiki_slow_clients_dropped_total", "counter"},
      {"hibiki_send_ack_seconds", "histogram"},
      {"hibiki_journal_commit_seconds", "histogram"},
      {"hibiki_journal_commit_appends", "histogram"},
      {"hibiki_journal_breaker_state", "gauge"},
      {"hibiki_recoveries_total", "counter"},
      {"hibiki_recoveries_in_flight", "gauge"},
      {"process_cpu_seconds_total", "counter"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_open_fds", "gauge"},
      {"process_start_time_seconds", "gauge"},
  };
  for (const auto& [name, type] : expected) {
    INFO(name);
    REQUIRE(e.types.count(name) == 1);
    CHECK(e.types.at(name) == type);
    CHECK_FALSE(e.help[name].empty());
  }
  // Labelled families appear with their first series (prometheus-cpp skips empty ones).
  CHECK(e.types.count("hibiki_requests_total") == 0);
  CHECK(e.value("hibiki_websocket_connections") == 0.0);
  CHECK(e.value("hibiki_send_ack_seconds_count") == 0.0);
  // Process figures come from /proc: this test process has memory and open files.
  CHECK(e.value("process_resident_memory_bytes").value_or(0) > 0);
  CHECK(e.value("process_open_fds").value_or(0) >= 3);
  CHECK(e.value("process_start_time_seconds").value_or(0) > 1.6e9);
}

TEST_CASE("requests are counted by op and result with bounded labels", "[metrics]") {
  auto reg = metrics::registry::create();
  for (int i = 0; i < 3; ++i) reg->request(protocol::send_message_req{}, errc::ok);
  reg->request(protocol::send_message_req{}, errc::forbidden);
  reg->request(protocol::ping_req{}, errc::ok);
  reg->request(protocol::sync_req{}, errc::moved);  // goes out as "unavailable"
  reg->request(protocol::sync_req{}, errc::unavailable);
  reg->invalid_request(errc::bad_request);
  reg->request(protocol::history_req{}, static_cast<errc>(200));  // out of range: internal
  auto e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  CHECK(e.value("hibiki_requests_total", {{"op", "send_message"}, {"result", "ok"}}) == 3.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "send_message"}, {"result", "forbidden"}}) == 1.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "ping"}, {"result", "ok"}}) == 1.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "sync"}, {"result", "unavailable"}}) == 2.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "invalid"}, {"result", "bad_request"}}) == 1.0);
  CHECK(e.value("hibiki_requests_total", {{"op", "history"}, {"result", "internal"}}) == 1.0);
  CHECK(e.sum("hibiki_requests_total") == 9.0);
}

TEST_CASE("histograms count observations into cumulative buckets", "[metrics]") {
  auto reg = metrics::registry::create();
  reg->send_ack(300us);
  reg->send_ack(3ms);
  reg->send_ack(10s);  // above the last bound: only +Inf
  reg->journal_commit(2ms, 1);
  reg->journal_commit(4ms, 100);
  auto e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  CHECK(e.value("hibiki_send_ack_seconds_count") == 3.0);
  CHECK(e.value("hibiki_send_ack_seconds_bucket", {{"le", "0.0005"}}) == 1.0);
  CHECK(e.value("hibiki_send_ack_seconds_bucket", {{"le", "0.005"}}) == 2.0);
  CHECK(e.value("hibiki_send_ack_seconds_bucket", {{"le", "5"}}) == 2.0);
  CHECK(e.value("hibiki_send_ack_seconds_bucket", {{"le", "+Inf"}}) == 3.0);
  CHECK(e.value("hibiki_send_ack_seconds_sum").value_or(0) == Approx(10.0033));
  CHECK(e.value("hibiki_journal_commit_seconds_count") == 2.0);
  CHECK(e.value("hibiki_journal_commit_appends_sum") == 101.0);
  CHECK(e.value("hibiki_journal_commit_appends_bucket", {{"le", "1"}}) == 1.0);
  CHECK(e.value("hibiki_journal_commit_appends_bucket", {{"le", "128"}}) == 2.0);
}

TEST_CASE("gateway metrics: connections up and down, HTTP by path class and status", "[metrics]") {
  auto reg = metrics::registry::create();
  reg->websocket_opened();
  reg->websocket_opened();
  reg->websocket_closed();
  reg->http_request(metrics::http_path::health, 200);
  reg->http_request(metrics::http_path::health, 503);
  reg->http_request(metrics::http_path::file, 404);
  reg->http_request(metrics::http_path::file, 404);
  reg->http_request(metrics::http_path::api, 9999);  // not a status: counted as code 0
  reg->slow_client_dropped();
  auto e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  CHECK(e.value("hibiki_websocket_connections") == 1.0);
  CHECK(e.value("hibiki_http_requests_total", {{"path", "health"}, {"code", "200"}}) == 1.0);
  CHECK(e.value("hibiki_http_requests_total", {{"path", "health"}, {"code", "503"}}) == 1.0);
  CHECK(e.value("hibiki_http_requests_total", {{"path", "file"}, {"code", "404"}}) == 2.0);
  CHECK(e.value("hibiki_http_requests_total", {{"path", "api"}, {"code", "0"}}) == 1.0);
  CHECK(e.value("hibiki_slow_clients_dropped_total") == 1.0);
}

TEST_CASE("REST requests by endpoint and status", "[metrics][rest]") {
  auto reg = metrics::registry::create();
  reg->rest_request("messages_post", 200);
  reg->rest_request("messages_post", 200);
  reg->rest_request("messages_post", 403);
  reg->rest_request("unknown", 404);
  reg->http_request(metrics::http_path::rest, 200);
  auto e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  CHECK(e.value("hibiki_rest_requests_total", {{"endpoint", "messages_post"}, {"code", "200"}}) ==
        2.0);
  CHECK(e.value("hibiki_rest_requests_total", {{"endpoint", "messages_post"}, {"code", "403"}}) ==
        1.0);
  CHECK(e.value("hibiki_rest_requests_total", {{"endpoint", "unknown"}, {"code", "404"}}) == 1.0);
  CHECK(e.value("hibiki_http_requests_total", {{"path", "rest"}, {"code", "200"}}) == 1.0);
}

TEST_CASE("the object store's breaker shows only once a node with a file store sets it",
          "[metrics]") {
  auto reg = metrics::registry::create();
  auto e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  // A node with files off never sets it: no sample at all, not a "closed" breaker.
  CHECK_FALSE(e.value("hibiki_object_store_breaker_state", {{"state", "closed"}}).has_value());
  CHECK_FALSE(e.value("hibiki_object_store_breaker_state", {{"state", "open"}}).has_value());

  std::string state = "open";
  auto handle =
      reg->add_collector([&](metrics::registry& r) { r.set_object_store_breaker_state(state); });
  e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  CHECK(e.value("hibiki_object_store_breaker_state", {{"state", "open"}}) == 1.0);
  CHECK(e.value("hibiki_object_store_breaker_state", {{"state", "closed"}}) == 0.0);
  CHECK(e.value("hibiki_object_store_breaker_state", {{"state", "half_open"}}) == 0.0);
  // The journal's breaker is another gauge, untouched by this one.
  CHECK(e.value("hibiki_journal_breaker_state", {{"state", "open"}}) == 0.0);

  state = "closed";
  e = parse_exposition(reg->exposition());
  CHECK(e.value("hibiki_object_store_breaker_state", {{"state", "closed"}}) == 1.0);
  CHECK(e.value("hibiki_object_store_breaker_state", {{"state", "open"}}) == 0.0);
}

TEST_CASE("collectors set scrape-time metrics and stop when their handle goes", "[metrics]") {
  auto reg = metrics::registry::create();
  std::uint64_t passivated = 5;
  std::string breaker = "open";
  auto handle = reg->add_collector([&](metrics::registry& r) {
    r.set_breaker_state(breaker);
    r.set_partition_lag(3, 1200);
    r.set_live_entities(metrics::entity_kind::room, 7);
    r.set_passivations_total(metrics::entity_kind::room, passivated);
    r.set_recoveries(11, 2);
    r.set_rocksdb_memory("memtables", 4096);
  });
  auto e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  CHECK(e.value("hibiki_journal_breaker_state", {{"state", "open"}}) == 1.0);
  CHECK(e.value("hibiki_journal_breaker_state", {{"state", "closed"}}) == 0.0);
  CHECK(e.value("hibiki_journal_breaker_state", {{"state", "half_open"}}) == 0.0);
  CHECK(e.value("hibiki_journal_partition_lag_records", {{"partition", "3"}}) == 1200.0);
  CHECK(e.value("hibiki_live_entities", {{"kind", "room"}}) == 7.0);
  CHECK(e.value("hibiki_passivations_total", {{"kind", "room"}}) == 5.0);
  CHECK(e.value("hibiki_recoveries_total") == 11.0);
  CHECK(e.value("hibiki_recoveries_in_flight") == 2.0);
  CHECK(e.value("hibiki_rocksdb_memory_bytes", {{"kind", "memtables"}}) == 4096.0);

  // Totals turn into increments; a total that goes down (a restarted region) never lowers it.
  passivated = 8;
  breaker = "half_open";
  e = parse_exposition(reg->exposition());
  CHECK(e.value("hibiki_passivations_total", {{"kind", "room"}}) == 8.0);
  CHECK(e.value("hibiki_journal_breaker_state", {{"state", "half_open"}}) == 1.0);
  passivated = 2;
  e = parse_exposition(reg->exposition());
  CHECK(e.value("hibiki_passivations_total", {{"kind", "room"}}) == 8.0);

  handle.reset();
  passivated = 100;
  breaker = "closed";
  e = parse_exposition(reg->exposition());
  CHECK(e.value("hibiki_passivations_total", {{"kind", "room"}}) == 8.0);
  CHECK(e.value("hibiki_journal_breaker_state", {{"state", "half_open"}}) == 1.0);
}

TEST_CASE("cluster peer links: absent until reported, then running totals", "[metrics]") {
  auto reg = metrics::registry::create();
  auto e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  // A node that is not clustered exports no series of them.
  CHECK(e.types.count("hibiki_cluster_peer_links_made_total") == 0);
  CHECK(e.types.count("hibiki_cluster_peer_links_lost_total") == 0);

  reg->set_cluster_peer_links(0, 0);
  e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  CHECK(e.types.at("hibiki_cluster_peer_links_made_total") == "counter");
  CHECK(e.types.at("hibiki_cluster_peer_links_lost_total") == "counter");
  CHECK(e.value("hibiki_cluster_peer_links_made_total") == 0.0);
  CHECK(e.value("hibiki_cluster_peer_links_lost_total") == 0.0);

  reg->set_cluster_peer_links(2, 1);
  reg->set_cluster_peer_links(5, 3);
  reg->set_cluster_peer_links(4, 0);  // a total never lowers the counter
  e = parse_exposition(reg->exposition());
  CHECK(e.value("hibiki_cluster_peer_links_made_total") == 5.0);
  CHECK(e.value("hibiki_cluster_peer_links_lost_total") == 3.0);
}

TEST_CASE("projections: lag and applied events by projection name", "[metrics][projection]") {
  auto reg = metrics::registry::create();
  auto e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  CHECK(e.types.count("hibiki_projection_lag_events") == 0);

  reg->set_projection("search", -1, 0);
  reg->set_projection("webhooks", 7, 3);
  reg->set_projection("search", 12, 40);
  reg->set_projection("search", 0, 52);
  reg->set_projection("search", 0, 50);  // a total never lowers the counter
  e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  CHECK(e.types.at("hibiki_projection_lag_events") == "gauge");
  CHECK(e.types.at("hibiki_projection_applied_total") == "counter");
  CHECK(e.value("hibiki_projection_lag_events", {{"projection", "search"}}) == 0.0);
  CHECK(e.value("hibiki_projection_lag_events", {{"projection", "webhooks"}}) == 7.0);
  CHECK(e.value("hibiki_projection_applied_total", {{"projection", "search"}}) == 52.0);
  CHECK(e.value("hibiki_projection_applied_total", {{"projection", "webhooks"}}) == 3.0);
}

TEST_CASE("webhooks: deliveries by result, pending and open breakers", "[metrics][webhook]") {
  auto reg = metrics::registry::create();
  reg->webhook_delivery("ok");
  reg->webhook_delivery("ok");
  reg->webhook_delivery("failed");
  reg->webhook_delivery("given_up");
  auto handle = reg->add_collector([](metrics::registry& r) {
    r.set_webhook_pending(12);
    r.set_webhook_breakers_open(1);
  });
  auto e = parse_exposition(reg->exposition());
  REQUIRE(e.error.empty());
  CHECK(e.value("hibiki_webhook_deliveries_total", {{"result", "ok"}}) == 2.0);
  CHECK(e.value("hibiki_webhook_deliveries_total", {{"result", "failed"}}) == 1.0);
  CHECK(e.value("hibiki_webhook_deliveries_total", {{"result", "given_up"}}) == 1.0);
  CHECK(e.value("hibiki_webhook_pending") == 12.0);
  CHECK(e.value("hibiki_webhook_breakers_open") == 1.0);
  CHECK(e.types.at("hibiki_webhook_deliveries_total") == "counter");
  CHECK(e.types.at("hibiki_webhook_pending") == "gauge");
}

TEST_CASE("a collector handle outliving its registry is harmless", "[metrics]") {
  metrics::collector_handle handle;
  {
    auto reg = metrics::registry::create();
    handle = reg->add_collector([](metrics::registry&) {});
  }
  handle.reset();
  SUCCEED("no use of the freed registry");
}

TEST_CASE("recording from many threads while scraping loses nothing", "[metrics]") {
  auto reg = metrics::registry::create();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        reg->request(protocol::send_message_req{}, errc::ok);
        reg->send_ack(1ms);
      }
    });
  }
  for (int i = 0; i < 20; ++i) CHECK(parse_exposition(reg->exposition()).error.empty());
  for (auto& t : threads) t.join();
  auto e = parse_exposition(reg->exposition());
  CHECK(e.value("hibiki_requests_total", {{"op", "send_message"}, {"result", "ok"}}) == 20000.0);
  CHECK(e.value("hibiki_send_ack_seconds_count") == 20000.0);
}

TEST_CASE("the exposition parser refuses malformed text", "[metrics]") {
  CHECK(parse_exposition("# TYPE a counter\na 1\n").error.empty());
  CHECK_FALSE(parse_exposition("a 1\n").error.empty());  // no TYPE
  CHECK_FALSE(parse_exposition("# TYPE a counter\na{x=\"1} 1\n").error.empty());
  CHECK_FALSE(parse_exposition("# TYPE a counter\na{x=1} 1\n").error.empty());
  CHECK_FALSE(parse_exposition("# TYPE a counter\na one\n").error.empty());
  CHECK_FALSE(parse_exposition("# TYPE a counter\na 1").error.empty());  // no final newline
  CHECK_FALSE(parse_exposition("# TYPE a counter\n# TYPE a gauge\n").error.empty());
  CHECK(parse_exposition("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n").error.empty());
}
