// GET /api/cluster: the node's view of the cluster for operators (`hibiki cluster status`), with
// the admin token and off the I/O threads like /api/journal (the real node asks the broker and the
// other nodes).

#include <atomic>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway_fixture.hpp"
#include "test_client.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using verb = boost::beast::http::verb;

namespace {

std::string error_code_of(const http_reply& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return "";
  return j["error"].value("code", "");
}

nlohmann::json three_nodes() {
  return nlohmann::json::parse(R"({
    "clustered": true, "node": "n1", "endpoint": "127.0.0.1:7101", "group": "hibiki.journal.nodes",
    "topic": "hibiki.journal", "partition_count": 4,
    "nodes": [
      {"node": "n1", "endpoint": "127.0.0.1:7101", "self": true, "reachable": true,
       "shards": [0, 1], "journal": {"kind": "kafka", "partitions": []}},
      {"node": "n2", "endpoint": "127.0.0.1:7102", "self": false, "reachable": false,
       "shards": [2], "journal": null, "error": "not reachable"}],
    "unassigned": [3]})");
}

struct release_status {
  fake_node& node;
  ~release_status() { node.hold_journal(false); }
};

}  // namespace

TEST_CASE("GET /api/cluster returns the node's cluster status", "[gateway][cluster]") {
  gateway_fixture f;
  f.node.set_cluster_status(three_nodes());
  auto r = f.operator_request(verb::get, "/api/cluster");
  REQUIRE(r.status == 200);
  REQUIRE(r.content_type == "application/json");
  REQUIRE(nlohmann::json::parse(r.body) == three_nodes());
  REQUIRE(f.node.cluster_calls() == 1);
  // The journal endpoint is a different question.
  REQUIRE(f.node.journal_calls() == 0);

  // A query string does not change the endpoint; every call asks the node afresh.
  f.node.set_cluster_status({{"clustered", false}, {"node", "solo"}});
  auto q = f.operator_request(verb::get, "/api/cluster?fresh=1");
  REQUIRE(q.status == 200);
  REQUIRE(nlohmann::json::parse(q.body)["node"] == "solo");
  REQUIRE(f.node.cluster_calls() == 2);
}

TEST_CASE("the cluster endpoint answers GET only", "[gateway][cluster]") {
  gateway_fixture f;
  for (auto v : {verb::post, verb::put, verb::delete_, verb::patch}) {
    INFO(boost::beast::http::to_string(v));
    auto r = f.operator_request(v, "/api/cluster", "{}");
    REQUIRE(r.status == 405);
    REQUIRE(error_code_of(r) == "bad_request");
  }
  REQUIRE(f.node.cluster_calls() == 0);
  // Neighbouring paths are not the endpoint: they are looked up as files.
  REQUIRE(f.operator_request(verb::get, "/api/clusters").status == 404);
  REQUIRE(f.operator_request(verb::get, "/api/cluster/n1").status == 404);
  REQUIRE(f.node.cluster_calls() == 0);
}

TEST_CASE("a cluster status that is not UTF-8 is still served as JSON", "[gateway][cluster]") {
  gateway_fixture f;
  f.node.set_cluster_status({{"clustered", true}, {"error", std::string("peer \xff down")}});
  auto r = f.operator_request(verb::get, "/api/cluster");
  REQUIRE(r.status == 200);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  REQUIRE(j["error"].get<std::string>().rfind("peer ", 0) == 0);
}

TEST_CASE("a slow cluster status does not hold up the I/O thread", "[gateway][cluster]") {
  auto options = gateway_fixture::test_options();
  options.threads = 1;
  gateway_fixture f(options);
  f.node.hold_journal(true);
  release_status release{f.node};
  http_reply cluster;
  std::thread t([&] { cluster = f.operator_request(verb::get, "/api/cluster"); });
  REQUIRE(f.node.wait_journal_started(1));
  REQUIRE(http_request(f.port, verb::get, "/healthz").status == 200);
  ws_client ws;
  REQUIRE_FALSE(ws.connect(f.port));
  REQUIRE_FALSE(ws.send_text("echo:still here"));
  std::string echoed;
  REQUIRE_FALSE(ws.read(echoed));
  REQUIRE(echoed == "still here");
  REQUIRE(f.node.cluster_calls() == 0);
  f.node.hold_journal(false);
  t.join();
  REQUIRE(cluster.status == 200);
  REQUIRE(nlohmann::json::parse(cluster.body)["clustered"] == false);
}

TEST_CASE("too many waiting status requests get 503", "[gateway][cluster]") {
  gateway_fixture f;
  f.node.hold_journal(true);
  release_status release{f.node};
  // The worker runs one call and lets 8 wait (gateway/README.md): the rest are refused at once,
  // without waiting for the node.
  constexpr int requests = 12;
  std::vector<http_reply> replies(requests);
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  auto ask = [&](int i) {
    replies[i] = f.operator_request(verb::get, i % 2 ? "/api/cluster" : "/api/journal");
    ++answered;
  };
  threads.emplace_back(ask, 0);
  REQUIRE(f.node.wait_journal_started(1));
  for (int i = 1; i < requests; ++i) threads.emplace_back(ask, i);
  for (int tries = 0; tries < 1000 && answered < requests - 9; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(answered == requests - 9);
  f.node.hold_journal(false);
  for (auto& t : threads) t.join();
  int ok = 0, unavailable = 0;
  for (const auto& r : replies) {
    if (r.status == 200) ++ok;
    if (r.status == 503) {
      ++unavailable;
      REQUIRE(error_code_of(r) == "unavailable");
    }
  }
  REQUIRE(ok == 9);
  REQUIRE(unavailable == requests - 9);
  REQUIRE(f.node.cluster_calls() + f.node.journal_calls() == 9);
}
