// `hibiki cluster status` without the binary: fetching GET /api/cluster from a real gateway in
// front of the fake node, the errors an operator can meet, and the table it prints.

#include <nlohmann/json.hpp>

#include "canned_server.hpp"
#include "gateway_fixture.hpp"
#include "hibiki/cli/client_options.hpp"
#include "hibiki/cli/cluster_status.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using json = nlohmann::json;

namespace {

cli::server_url url_for(std::uint16_t port) {
  return cli::server_url{"127.0.0.1", std::to_string(port), "/ws"};
}

json partition(int p, const char* state, std::int64_t lag) {
  return json{{"partition", p},      {"state", state},
              {"indexed_offset", 5}, {"end_offset", 5 + (lag < 0 ? 0 : lag)},
              {"lag", lag},          {"last_error", ""}};
}

/// Three nodes over 6 partitions: n1 (the one asked) serves 0-1 and 4, n2 serves 2, n3 cannot be
/// reached, partitions 3 and 5 have no owner. Every node follows every partition, so each journal
/// lists all six; only a node's own shards count towards its lag.
json three_nodes() {
  json n1_journal{
      {"kind", "kafka"},
      {"partitions",
       {partition(0, "ready", 1), partition(1, "ready", 2), partition(2, "following", 50),
        partition(3, "following", 7), partition(4, "ready", 0), partition(5, "following", 9)}}};
  json n2_journal{
      {"kind", "kafka"},
      {"partitions",
       {partition(0, "following", 100), partition(2, "ready", 4), partition(3, "acquiring", 3)}}};
  return json{{"clustered", true},
              {"node", "n1"},
              {"endpoint", "127.0.0.1:7101"},
              {"group", "hibiki.journal.cluster"},
              {"topic", "hibiki.journal"},
              {"partition_count", 6},
              {"nodes",
               {{{"node", "n1"},
                 {"endpoint", "127.0.0.1:7101"},
                 {"self", true},
                 {"reachable", true},
                 {"shards", {4, 0, 1}},
                 {"journal", n1_journal}},
                {{"node", "n2"},
                 {"endpoint", "127.0.0.1:7102"},
                 {"self", false},
                 {"reachable", true},
                 {"shards", {2}},
                 {"journal", n2_journal}},
                {{"node", "n3"},
                 {"endpoint", "127.0.0.1:7103"},
                 {"self", false},
                 {"reachable", false},
                 {"shards", json::array()},
                 {"journal", nullptr},
                 {"error", "connection refused"}}}},
              {"unassigned", {3, 5}}};
}

json single_node() {
  return json{{"clustered", false},
              {"node", "solo"},
              {"nodes",
               {{{"node", "solo"},
                 {"endpoint", nullptr},
                 {"self", true},
                 {"reachable", true},
                 {"journal",
                  {{"kind", "kafka"},
                   {"partitions", {partition(0, "ready", 1), partition(1, "ready", 2)}}}}}}}};
}

}  // namespace

TEST_CASE("cluster status is fetched from the gateway", "[cli][cluster]") {
  gateway_fixture f;
  f.node.set_cluster_status(three_nodes());
  auto r = cli::fetch_cluster_status(url_for(f.port), std::chrono::seconds(15),
                                     gateway_fixture::admin_token);
  REQUIRE(r.ok());
  REQUIRE(r->json == three_nodes());
  REQUIRE(json::parse(r->body) == three_nodes());
  REQUIRE(f.node.cluster_calls() == 1);
  REQUIRE(f.node.journal_calls() == 0);
}

TEST_CASE("cluster status reports a server that is not there", "[cli][cluster]") {
  auto r = cli::fetch_cluster_status(url_for(closed_port()));
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == errc::unavailable);
  REQUIRE(r.error().message.find("cannot connect") != std::string::npos);
  REQUIRE(r.error().message.find("is hibikid running") != std::string::npos);
  auto unresolvable = cli::fetch_cluster_status(cli::server_url{"no-such-host.invalid", "80", ""});
  REQUIRE_FALSE(unresolvable.ok());
  REQUIRE(unresolvable.error().code == errc::unavailable);
}

TEST_CASE("cluster status gives up on a server that never answers", "[cli][cluster]") {
  canned_server silent("");
  auto r = cli::fetch_cluster_status(url_for(silent.port()), std::chrono::milliseconds(300));
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == errc::unavailable);
  REQUIRE(r.error().message.find("no answer") != std::string::npos);
}

TEST_CASE("cluster status explains a 403", "[cli][cluster]") {
  canned_server s(http_response_text(
      403, "Forbidden",
      R"({"error":{"code":"forbidden","message":"operator endpoints are off"}})"));
  auto r = cli::fetch_cluster_status(url_for(s.port()));
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == errc::forbidden);
  REQUIRE(r.error().message.find("refused the cluster status (HTTP 403") != std::string::npos);
  REQUIRE(r.error().message.find("--admin-token-file or --admin-http") != std::string::npos);
}

TEST_CASE("cluster status rejects answers that are not a status", "[cli][cluster]") {
  SECTION("not JSON") {
    canned_server s(http_response_text(200, "OK", "<html>hello</html>"));
    auto r = cli::fetch_cluster_status(url_for(s.port()));
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().message.find("cluster status is not a JSON object") != std::string::npos);
  }
  SECTION("JSON but not an object") {
    canned_server s(http_response_text(200, "OK", "\"clustered\""));
    REQUIRE_FALSE(cli::fetch_cluster_status(url_for(s.port())).ok());
  }
  SECTION("an older hibikid without the endpoint") {
    canned_server s(http_response_text(
        404, "Not Found", R"({"error":{"code":"not_found","message":"no such file"}})"));
    auto r = cli::fetch_cluster_status(url_for(s.port()));
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().message.find("HTTP 404") != std::string::npos);
    REQUIRE(r.error().message.find("/api/cluster") != std::string::npos);
  }
  SECTION("the connection closes without an answer") {
    canned_server s("garbage that is not HTTP\r\n\r\n");
    REQUIRE_FALSE(cli::fetch_cluster_status(url_for(s.port())).ok());
  }
}

TEST_CASE("shard numbers print as ranges", "[cli][cluster]") {
  REQUIRE(cli::shard_ranges({}) == "-");
  REQUIRE(cli::shard_ranges({3}) == "3");
  REQUIRE(cli::shard_ranges({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8");
  REQUIRE(cli::shard_ranges({8, 7, 0, 2, 1, 1}) == "0-2,7-8");
  REQUIRE(cli::shard_ranges({1, 3, 5}) == "1,3,5");
}

TEST_CASE("the cluster table", "[cli][cluster]") {
  auto text = cli::format_cluster_status(three_nodes());
  REQUIRE(text.ok());
  // n1's lag is its shards' (0, 1, 4): 1 + 2 + 0, not the partitions it only follows; n2's
  // journal lists partition 2 with lag 4; n3's journal is unknown.
  const std::string expected =
      "cluster    yes (asked node n1 at 127.0.0.1:7101)\n"
      "topic      hibiki.journal (6 partitions)\n"
      "group      hibiki.journal.cluster\n"
      "nodes      3 (2 reachable)\n"
      "unassigned 3,5\n"
      "\n"
      "NODE  ENDPOINT        REACHABLE  SHARDS       LAG  ERROR\n"
      "n1*   127.0.0.1:7101  yes        0-1,4          3\n"
      "n2    127.0.0.1:7102  yes        2              4\n"
      "n3    127.0.0.1:7103  no         -              -  connection refused\n"
      "(* the node that answered; LAG: records its shards' partitions still have to index)\n";
  REQUIRE(*text == expected);
}

TEST_CASE("the table of a single node", "[cli][cluster]") {
  auto text = cli::format_cluster_status(single_node());
  REQUIRE(text.ok());
  REQUIRE(*text ==
          "cluster    no (a single node: solo)\n"
          "nodes      1 (1 reachable)\n"
          "\n"
          "NODE   ENDPOINT  REACHABLE  SHARDS       LAG  ERROR\n"
          "solo*  -         yes        all            3\n"
          "(* the node that answered; LAG: records its shards' partitions still have to index)\n");
}

TEST_CASE("the cluster table shows the answering node's links to its peers", "[cli][cluster]") {
  auto status = three_nodes();
  status["peer_links"] = {{"made", 2}, {"lost", 1}};
  auto text = cli::format_cluster_status(status);
  REQUIRE(text.ok());
  REQUIRE(text->find("unassigned 3,5\n"
                     "links      2 made, 1 lost (by the node that answered, since it started)\n"
                     "\n") != std::string::npos);
  // Anything malformed says nothing (an older node has no "peer_links").
  for (const auto& bad : {json("2/1"), json{{"made", -1}, {"lost", 0}}, json{{"made", 2}},
                          json{{"made", 2}, {"lost", "0"}}}) {
    status["peer_links"] = bad;
    text = cli::format_cluster_status(status);
    REQUIRE(text.ok());
    CHECK(text->find("links") == std::string::npos);
  }
}

TEST_CASE("the cluster table says how the cluster port is secured", "[cli][cluster]") {
  auto status = three_nodes();
  status["transport"] = {{"mode", "mutual-tls"},
                         {"certificate", "CN=n1"},
                         {"not_after", "2028-03-09T06:00:00Z"},
                         {"ca", {"CN=hibiki cluster CA", "CN=next CA"}}};
  auto text = cli::format_cluster_status(status);
  REQUIRE(text.ok());
  REQUIRE(text->find("group      hibiki.journal.cluster\n"
                     "transport  mutual TLS (certificate CN=n1, valid until 2028-03-09T06:00:00Z, "
                     "CA CN=hibiki cluster CA; CN=next CA)\n"
                     "nodes      3 (2 reachable)\n") != std::string::npos);

  status["transport"] = {{"mode", "insecure"}, {"warning", "plain TCP"}};
  text = cli::format_cluster_status(status);
  REQUIRE(text.ok());
  REQUIRE(text->find("transport  INSECURE: plain TCP, no authentication (--cluster-insecure)\n") !=
          std::string::npos);

  // Anything else that is not an object says nothing (an older node has no "transport").
  status["transport"] = "tls";
  text = cli::format_cluster_status(status);
  REQUIRE(text.ok());
  REQUIRE(text->find("transport") == std::string::npos);
}

TEST_CASE("a node's lag is unknown when one of its shards' lag is", "[cli][cluster]") {
  auto status = three_nodes();
  // n1's shard 1: lag unknown (-1, the broker did not answer); n2's shard 2 missing from its
  // journal altogether.
  status["nodes"][0]["journal"]["partitions"][1]["lag"] = -1;
  status["nodes"][1]["journal"]["partitions"].erase(1);
  status["error"] = "node n3 did not answer within 3000 ms";
  auto text = cli::format_cluster_status(status);
  REQUIRE(text.ok());
  REQUIRE(text->find("error      node n3 did not answer within 3000 ms\n") != std::string::npos);
  REQUIRE(text->find("n1*   127.0.0.1:7101  yes        0-1,4          -\n") != std::string::npos);
  REQUIRE(text->find("n2    127.0.0.1:7102  yes        2              -\n") != std::string::npos);
}

TEST_CASE("a malformed cluster status is refused with the reason", "[cli][cluster]") {
  auto with = [](const char* pointer, json value) {
    auto s = three_nodes();
    s[json::json_pointer(pointer)] = std::move(value);
    return s;
  };
  for (const auto& [status, reason] : std::vector<std::pair<json, std::string>>{
           {json::array(), "not a JSON object"},
           {json("yes"), "not a JSON object"},
           {json::object(), "no boolean \"clustered\""},
           {json{{"clustered", "true"}}, "no boolean \"clustered\""},
           {json{{"clustered", true}}, "no \"nodes\" array"},
           {with("/nodes", json::object()), "no \"nodes\" array"},
           {with("/node", 1), "\"node\" is not a string"},
           {with("/partition_count", "six"), "\"partition_count\" is not an integer"},
           {with("/unassigned", "3"), "\"unassigned\" is not a list of partitions"},
           {with("/unassigned", json::array({-1})), "\"unassigned\" is not a list of partitions"},
           {with("/nodes/1", 7), "node entry 1 is not an object"},
           {with("/nodes/1/node", nullptr), "node entry 1 has no \"node\""},
           {with("/nodes/1/endpoint", 7102), "node entry 1 \"endpoint\" is not a string"},
           {with("/nodes/2/reachable", "no"), "node entry 2 \"reachable\" is not a boolean"},
           {with("/nodes/0/self", 1), "node entry 0 \"self\" is not a boolean"},
           {with("/nodes/0/shards", "0-1"), "node entry 0 \"shards\" is not an array"},
           {with("/nodes/0/shards", json::array({0, "1"})),
            "node entry 0 \"shards\" holds something that is not a partition"},
           {with("/nodes/0/journal", "kafka"), "node entry 0 \"journal\" is not an object"},
           {with("/nodes/2/error", false), "node entry 2 \"error\" is not a string"},
       }) {
    INFO(status.dump());
    auto text = cli::format_cluster_status(status);
    REQUIRE_FALSE(text.ok());
    REQUIRE(text.error().code == errc::bad_request);
    REQUIRE(text.error().message.find(reason) != std::string::npos);
  }
}
