// GET /metrics and GET /readyz on the gateway: the exposition text parsed strictly, requests and
// connections counted, readiness following the node's health and journal status, bad inputs.

#include <nlohmann/json.hpp>
#include <thread>

#include "../metrics/exposition.hpp"
#include "gateway_fixture.hpp"
#include "hibiki/metrics/registry.hpp"
#include "readiness.hpp"
#include "test_client.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using hibiki::test::parse_exposition;
using verb = boost::beast::http::verb;

namespace {

gateway::gateway_options with_metrics() {
  auto o = gateway_fixture::test_options();
  o.metrics = metrics::registry::create();
  return o;
}

test::exposition scrape(std::uint16_t port) {
  auto r = http_request(port, verb::get, "/metrics");
  REQUIRE(r.status == 200);
  REQUIRE(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  auto e = parse_exposition(r.body);
  INFO(e.error);
  REQUIRE(e.error.empty());
  return e;
}

/// Scrapes until `pred` holds (the gateway counts a connection on its own strand, after the
/// client's handshake returned); bounded, so a broken gateway fails instead of hanging.
template <class Pred>
test::exposition scrape_until(std::uint16_t port, Pred pred) {
  auto e = scrape(port);
  for (int i = 0; i < 200 && !pred(e); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    e = scrape(port);
  }
  return e;
}

}  // namespace

TEST_CASE("metrics: valid exposition text that counts HTTP requests by path class and status",
          "[gateway][metrics]") {
  gateway_fixture f(with_metrics());
  REQUIRE(http_request(f.port, verb::get, "/healthz").status == 200);
  REQUIRE(http_request(f.port, verb::get, "/healthz").status == 200);
  REQUIRE(http_request(f.port, verb::get, "/no-such-file.txt").status == 404);
  REQUIRE(http_request(f.port, verb::post, "/api/signup", "not json").status == 400);

  auto e = scrape(f.port);
  CHECK(e.types["hibiki_http_requests_total"] == "counter");
  CHECK(e.value("hibiki_http_requests_total", {{"path", "health"}, {"code", "200"}}) == 2.0);
  CHECK(e.value("hibiki_http_requests_total", {{"path", "file"}, {"code", "404"}}) == 1.0);
  CHECK(e.value("hibiki_http_requests_total", {{"path", "api"}, {"code", "400"}}) == 1.0);
  // A scrape is counted once its answer is sent: the second one sees the first.
  CHECK_FALSE(e.value("hibiki_http_requests_total", {{"path", "metrics"}, {"code", "200"}}));
  e = scrape(f.port);
  CHECK(e.value("hibiki_http_requests_total", {{"path", "metrics"}, {"code", "200"}}) == 1.0);
  // The process figures are there too.
  CHECK(e.value("process_open_fds").value_or(0) > 0);
}

TEST_CASE("metrics: WebSocket connections go up and down", "[gateway][metrics]") {
  gateway_fixture f(with_metrics());
  auto connections = [](const test::exposition& e) {
    return e.value("hibiki_websocket_connections").value_or(-1);
  };
  CHECK(connections(scrape(f.port)) == 0.0);
  {
    ws_client a, b;
    REQUIRE_FALSE(a.connect(f.port));
    REQUIRE_FALSE(b.connect(f.port));
    REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 2; }));
    auto e = scrape_until(f.port, [&](const auto& x) { return connections(x) == 2.0; });
    CHECK(connections(e) == 2.0);
    CHECK(e.value("hibiki_http_requests_total", {{"path", "ws"}, {"code", "101"}}) == 2.0);
  }
  REQUIRE(f.node.wait_for([](const auto& r) { return r[0].closed == 1 && r[1].closed == 1; }));
  CHECK(connections(scrape_until(f.port, [&](const auto& x) { return connections(x) == 0.0; })) ==
        0.0);
}

TEST_CASE("metrics: a slow reader dropped is counted", "[gateway][metrics]") {
  gateway_fixture f(with_metrics());  // max_outgoing_bytes = 256 KiB
  ws_client slow;
  REQUIRE_FALSE(slow.connect(f.port, {}, {}, /*rcvbuf=*/4096));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
  auto chunk = std::make_shared<const std::string>(16 * 1024, 'x');
  for (int i = 0; i < 4000; ++i) f.node.link(0)->send(chunk);
  REQUIRE(f.node.wait_for([](const auto& r) { return r[0].closed == 1; }));
  auto e = scrape(f.port);
  CHECK(e.value("hibiki_slow_clients_dropped_total") == 1.0);
  CHECK(e.value("hibiki_websocket_connections") == 0.0);
}

TEST_CASE("metrics: bad methods, odd paths, and metrics off", "[gateway][metrics]") {
  gateway_fixture f(with_metrics());
  CHECK(http_request(f.port, verb::post, "/metrics", "x").status == 405);
  CHECK(http_request(f.port, verb::put, "/readyz", "x").status == 405);
  CHECK(http_request(f.port, verb::delete_, "/metrics").status == 405);
  CHECK(http_request(f.port, verb::get, "/metrics/").status == 404);
  CHECK(http_request(f.port, verb::get, "/metricsx").status == 404);
  CHECK(http_request(f.port, verb::get, "/readyz/x").status == 404);
  CHECK(http_request(f.port, verb::get, "/metrics?x=1").status == 200);  // a query is ignored
  // The server keeps serving.
  CHECK(http_request(f.port, verb::get, "/healthz").status == 200);
  auto e = scrape(f.port);
  CHECK(e.value("hibiki_http_requests_total", {{"path", "metrics"}, {"code", "405"}}) == 2.0);
  CHECK(e.value("hibiki_http_requests_total", {{"path", "health"}, {"code", "405"}}) == 1.0);

  gateway_fixture off;  // no registry: nothing recorded, nothing served
  auto r = http_request(off.port, verb::get, "/metrics");
  CHECK(r.status == 404);
  CHECK(r.body.find("metrics are off") != std::string::npos);
  CHECK(http_request(off.port, verb::get, "/readyz").status == 200);  // readiness does not need it
}

TEST_CASE(
    "readyz: 200 when healthy with a closed breaker and ready partitions, else 503 with "
    "the reasons",
    "[gateway][metrics][readyz]") {
  gateway_fixture f;
  auto status = nlohmann::json{
      {"kind", "kafka"},
      {"breaker", {{"state", "closed"}}},
      {"partitions",
       {{{"partition", 0}, {"state", "ready"}, {"indexed_offset", 10}, {"end_offset", 10}},
        {{"partition", 1}, {"state", "following"}, {"indexed_offset", 5}, {"end_offset", 90}}}}};
  f.node.set_journal_status(status);
  auto r = http_request(f.port, verb::get, "/readyz");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(nlohmann::json::parse(r.body) == nlohmann::json{{"ready", true}});

  status["breaker"]["state"] = "open";
  status["partitions"].push_back(
      {{"partition", 3}, {"state", "catching_up"}, {"indexed_offset", 1200}, {"end_offset", 5000}});
  f.node.set_journal_status(status);
  r = http_request(f.port, verb::get, "/readyz");
  CHECK(r.status == 503);
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["ready"] == false);
  CHECK(j["reasons"] ==
        nlohmann::json::array({"journal breaker open", "partition 3 catching up 1200/5000"}));

  f.node.set_journal_status({{"kind", "rocksdb"}, {"breaker", {{"state", "closed"}}}});
  CHECK(http_request(f.port, verb::get, "/readyz").status == 200);
  f.node.set_healthy(false);
  r = http_request(f.port, verb::get, "/readyz");
  CHECK(r.status == 503);
  CHECK(nlohmann::json::parse(r.body)["reasons"] == nlohmann::json::array({"node stopping"}));
  // Alive but not ready is what /healthz and /readyz tell apart: healthz follows healthy() only.
  f.node.set_healthy(true);
  CHECK(http_request(f.port, verb::get, "/readyz").status == 200);
  CHECK(http_request(f.port, verb::head, "/readyz").status == 200);
}

TEST_CASE("readiness reasons from odd journal statuses", "[gateway][readyz]") {
  using gateway::readiness_problems;
  CHECK(readiness_problems(true, nlohmann::json{{"breaker", {{"state", "closed"}}}}).empty());
  CHECK(readiness_problems(true, nlohmann::json::array()) ==
        std::vector<std::string>{"journal status unknown"});
  CHECK(readiness_problems(true, {{"error", "the journal did not report"},
                                  {"breaker", {{"state", "half_open"}}}}) ==
        std::vector<std::string>{"journal status unknown: the journal did not report",
                                 "journal breaker half_open"});
  CHECK(readiness_problems(true, {{"breaker", {{"state", ""}}}}) ==
        std::vector<std::string>{"journal breaker unknown"});
  CHECK(
      readiness_problems(
          true,
          {{"partitions",
            {{{"partition", 2}, {"state", "recovering"}},
             {{"partition", 4}, {"state", "acquiring"}, {"indexed_offset", 7}, {"end_offset", -1}},
             "not an object",
             {{"state", 5}}}}}) == std::vector<std::string>{"partition 2 recovering ?/?",
                                                            "partition 4 acquiring 7/?",
                                                            "partition ? in an unknown state ?/?"});
  CHECK(gateway::readiness_body({}) == R"({"ready":true})");
  CHECK(nlohmann::json::parse(gateway::readiness_body({"a", "b"})) ==
        nlohmann::json{{"ready", false}, {"reasons", {"a", "b"}}});
}
