// `hibiki journal status` without the binary: fetching GET /api/journal from a real gateway in
// front of the fake node, the errors an operator can meet, and the summary it prints.

#include <nlohmann/json.hpp>
#include <thread>

#include "canned_server.hpp"
#include "gateway_fixture.hpp"
#include "hibiki/cli/client_options.hpp"
#include "hibiki/cli/journal_status.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using json = nlohmann::json;

namespace {

cli::server_url url_for(std::uint16_t port) {
  return cli::server_url{"127.0.0.1", std::to_string(port), "/ws"};
}

json kafka_status() {
  return json::parse(R"({
    "kind": "kafka", "brokers": "127.0.0.1:9092", "topic": "hibiki.journal",
    "partition_count": 2,
    "partitions": [
      {"partition": 0, "state": "ready", "indexed_offset": 10, "end_offset": 10, "lag": 0,
       "last_error": ""},
      {"partition": 1, "state": "catching_up", "indexed_offset": 3, "end_offset": -1, "lag": -1,
       "last_error": "Local: Broker transport failure"}],
    "appends": 12, "rejected": 1, "failed": 2,
    "breaker": {"state": "open", "consecutive_failures": 10, "max_failures": 10,
                "call_timeout_ms": 10000, "reset_timeout_ms": 30000}})");
}

json rocksdb_status() {
  return json::parse(R"({
    "kind": "rocksdb", "brokers": "", "topic": "", "partition_count": 0, "partitions": [],
    "appends": 5, "rejected": 0, "failed": 0,
    "breaker": {"state": "closed", "consecutive_failures": 0, "max_failures": 10,
                "call_timeout_ms": 10000, "reset_timeout_ms": 30000}})");
}

}  // namespace

TEST_CASE("journal status is fetched from the gateway", "[cli][journal]") {
  gateway_fixture f;
  f.node.set_journal_status(kafka_status());
  auto r = cli::fetch_journal_status(url_for(f.port), std::chrono::seconds(10),
                                     gateway_fixture::admin_token);
  REQUIRE(r.ok());
  REQUIRE(r->json == kafka_status());
  REQUIRE(json::parse(r->body) == kafka_status());
  REQUIRE(f.node.journal_calls() == 1);
}

TEST_CASE("journal status without or with a wrong admin token says what to do", "[cli][journal]") {
  gateway_fixture f;
  auto none = cli::fetch_journal_status(url_for(f.port));
  REQUIRE_FALSE(none.ok());
  REQUIRE(none.error().code == errc::unauthenticated);
  REQUIRE(none.error().message.find("HTTP 401") != std::string::npos);
  REQUIRE(none.error().message.find("--admin-token-file") != std::string::npos);
  REQUIRE(none.error().message.find("HIBIKI_ADMIN_TOKEN") != std::string::npos);
  auto wrong = cli::fetch_journal_status(url_for(f.port), std::chrono::seconds(10), "nope");
  REQUIRE_FALSE(wrong.ok());
  REQUIRE(wrong.error().code == errc::unauthenticated);
  REQUIRE(wrong.error().message.find("not the server's") != std::string::npos);
  REQUIRE(f.node.journal_calls() == 0);
}

TEST_CASE("journal status reports a server that is not there", "[cli][journal]") {
  auto r = cli::fetch_journal_status(url_for(closed_port()));
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == errc::unavailable);
  REQUIRE(r.error().message.find("cannot connect") != std::string::npos);
  REQUIRE(r.error().message.find("is hibikid running") != std::string::npos);

  auto unresolvable = cli::fetch_journal_status(cli::server_url{"no-such-host.invalid", "80", ""});
  REQUIRE_FALSE(unresolvable.ok());
  REQUIRE(unresolvable.error().code == errc::unavailable);
}

TEST_CASE("journal status gives up on a server that never answers", "[cli][journal]") {
  canned_server silent("");  // reads the request, never answers
  auto r = cli::fetch_journal_status(url_for(silent.port()), std::chrono::milliseconds(300));
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == errc::unavailable);
  REQUIRE(r.error().message.find("no answer") != std::string::npos);
}

TEST_CASE("journal status explains a 403", "[cli][journal]") {
  canned_server s(http_response_text(
      403, "Forbidden",
      R"({"error":{"code":"forbidden","message":"operator endpoints are off"}})"));
  auto r = cli::fetch_journal_status(url_for(s.port()));
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == errc::forbidden);
  REQUIRE(r.error().message.find("403") != std::string::npos);
  REQUIRE(r.error().message.find("operator endpoints are off") != std::string::npos);
  REQUIRE(r.error().message.find("--admin-token-file or --admin-http") != std::string::npos);
}

TEST_CASE("journal status rejects answers that are not a status", "[cli][journal]") {
  SECTION("not JSON") {
    canned_server s(http_response_text(200, "OK", "<html>hello</html>"));
    auto r = cli::fetch_journal_status(url_for(s.port()));
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().message.find("not a JSON object") != std::string::npos);
  }
  SECTION("JSON but not an object") {
    canned_server s(http_response_text(200, "OK", "[1,2,3]"));
    REQUIRE_FALSE(cli::fetch_journal_status(url_for(s.port())).ok());
  }
  SECTION("another status") {
    canned_server s(http_response_text(
        404, "Not Found", R"({"error":{"code":"not_found","message":"no such file"}})"));
    auto r = cli::fetch_journal_status(url_for(s.port()));
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().message.find("HTTP 404") != std::string::npos);
    REQUIRE(r.error().message.find("/api/journal") != std::string::npos);
  }
  SECTION("the connection closes without an answer") {
    canned_server s("garbage that is not HTTP\r\n\r\n");
    REQUIRE_FALSE(cli::fetch_journal_status(url_for(s.port())).ok());
  }
}

TEST_CASE("the Kafka journal summary", "[cli][journal]") {
  auto text = cli::format_journal_status(kafka_status());
  REQUIRE(text.ok());
  const std::string expected =
      "journal    kafka\n"
      "brokers    127.0.0.1:9092\n"
      "topic      hibiki.journal (2 partitions)\n"
      "appends    12 acknowledged, 1 rejected, 2 failed\n"
      "breaker    open (10 failures in a row; opens at 10; call timeout 10000 ms; reset after "
      "30000 ms)\n"
      "partitions 2 owned\n"
      "\n"
      "PARTITION  STATE         INDEXED_OFFSET      END_OFFSET          LAG  LAST_ERROR\n"
      "        0  ready                     10              10            0\n"
      "        1  catching_up                3               -            -  Local: Broker "
      "transport failure\n";
  REQUIRE(*text == expected);
}

TEST_CASE("the RocksDB journal summary", "[cli][journal]") {
  auto text = cli::format_journal_status(rocksdb_status());
  REQUIRE(text.ok());
  REQUIRE(*text ==
          "journal    rocksdb\n"
          "appends    5 acknowledged, 0 rejected, 0 failed\n"
          "breaker    closed (0 failures in a row; opens at 10; call timeout 10000 ms; reset "
          "after 30000 ms)\n"
          "partitions none (not partitioned)\n");
}

TEST_CASE("a summary of a status with missing fields", "[cli][journal]") {
  auto text = cli::format_journal_status(json{{"kind", "fake"}});
  REQUIRE(text.ok());
  REQUIRE(*text ==
          "journal    fake\n"
          "appends    - acknowledged, - rejected, - failed\n"
          "partitions none (not partitioned)\n");
}

TEST_CASE("a summary when the node could not reach the journal", "[cli][journal]") {
  // What the node answers when the backend's status does not come in time (the broker is down):
  // counters unknown, no partitions, the reason, and the breaker it always knows.
  auto status = json::parse(R"x({
    "kind": "kafka", "brokers": "127.0.0.1:9092", "topic": "hibiki.journal",
    "partition_count": null, "partitions": [], "appends": null, "rejected": null, "failed": null,
    "error": "the journal did not report its status within 2000 ms (is the broker reachable?)",
    "breaker": {"state": "open", "consecutive_failures": 2, "max_failures": 2,
                "call_timeout_ms": 3000, "reset_timeout_ms": 5000}})x");
  auto text = cli::format_journal_status(status);
  REQUIRE(text.ok());
  REQUIRE(*text ==
          "journal    kafka\n"
          "error      the journal did not report its status within 2000 ms (is the broker "
          "reachable?)\n"
          "brokers    127.0.0.1:9092\n"
          "topic      hibiki.journal\n"
          "appends    - acknowledged, - rejected, - failed\n"
          "breaker    open (2 failures in a row; opens at 2; call timeout 3000 ms; reset after "
          "5000 ms)\n"
          "partitions none owned\n");
  REQUIRE_FALSE(cli::format_journal_status(json{{"kind", "kafka"}, {"error", 5}}).ok());
}

TEST_CASE("a malformed status is refused with the reason", "[cli][journal]") {
  auto bad_partition = kafka_status();
  bad_partition["partitions"][1]["lag"] = "six";
  auto bad_breaker = kafka_status();
  bad_breaker["breaker"]["state"] = 3;
  auto partitions_object = kafka_status();
  partitions_object["partitions"] = json::object();
  for (const auto& [status, reason] : std::vector<std::pair<json, std::string>>{
           {json::array(), "not a JSON object"},
           {json("kafka"), "not a JSON object"},
           {json::object(), "no \"kind\""},
           {json{{"kind", 7}}, "\"kind\" is not a string"},
           {json{{"kind", "kafka"}, {"appends", "many"}}, "\"appends\" is not an integer"},
           {json{{"kind", "kafka"}, {"appends", 1.5}}, "\"appends\" is not an integer"},
           {json{{"kind", "kafka"}, {"breaker", "closed"}}, "\"breaker\" is not an object"},
           {bad_breaker, "breaker \"state\" is not a string"},
           {partitions_object, "\"partitions\" is not an array"},
           {json{{"kind", "kafka"}, {"partitions", json::array({1})}},
            "partition entry 0 is not an object"},
           {bad_partition, "partition entry 1 \"lag\" is not an integer"},
       }) {
    INFO(status.dump());
    auto text = cli::format_journal_status(status);
    REQUIRE_FALSE(text.ok());
    REQUIRE(text.error().code == errc::bad_request);
    REQUIRE(text.error().message.find(reason) != std::string::npos);
  }
}
