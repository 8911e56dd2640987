// GET /api/journal: the node's journal status for operators, with the admin token (routes.hpp),
// off the I/O threads (the real node may ask the Kafka broker).

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "gateway_fixture.hpp"
#include "peer_address.hpp"
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

nlohmann::json kafka_status() {
  return nlohmann::json::parse(R"({
    "kind": "kafka", "brokers": "127.0.0.1:9092", "topic": "hibiki.journal",
    "partition_count": 2,
    "partitions": [
      {"partition": 0, "state": "ready", "indexed_offset": 10, "end_offset": 10, "lag": 0,
       "last_error": ""},
      {"partition": 1, "state": "catching_up", "indexed_offset": 3, "end_offset": 9, "lag": 6,
       "last_error": ""}],
    "appends": 12, "rejected": 1, "failed": 0,
    "breaker": {"state": "closed", "consecutive_failures": 0, "max_failures": 10,
                "call_timeout_ms": 10000, "reset_timeout_ms": 30000}})");
}

/// An IPv4 address of this machine that is not loopback, if it has one.
std::optional<std::string> non_loopback_ipv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (auto* a = list; a != nullptr && !found; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) == nullptr) continue;
    if (!gateway::is_loopback_peer(std::string_view(text))) found = text;
  }
  ::freeifaddrs(list);
  return found;
}

/// Lets a held journal status go however the test ends, so the gateway can stop.
struct release_journal {
  fake_node& node;
  ~release_journal() { node.hold_journal(false); }
};

}  // namespace

TEST_CASE("GET /api/journal returns the node's journal status", "[gateway][journal]") {
  gateway_fixture f;
  f.node.set_journal_status(kafka_status());
  auto r = f.operator_request(verb::get, "/api/journal");
  REQUIRE(r.status == 200);
  REQUIRE(r.content_type == "application/json");
  REQUIRE(nlohmann::json::parse(r.body) == kafka_status());
  REQUIRE(f.node.journal_calls() == 1);

  // A query string does not change the endpoint; every call asks the node afresh.
  auto q = f.operator_request(verb::get, "/api/journal?fresh=1");
  REQUIRE(q.status == 200);
  REQUIRE(f.node.journal_calls() == 2);
}

TEST_CASE("the journal endpoint answers GET only", "[gateway][journal]") {
  gateway_fixture f;
  for (auto v : {verb::post, verb::put, verb::delete_, verb::patch}) {
    INFO(boost::beast::http::to_string(v));
    auto r = f.operator_request(v, "/api/journal", "{}");
    REQUIRE(r.status == 405);
    REQUIRE(error_code_of(r) == "bad_request");
  }
  REQUIRE(f.node.journal_calls() == 0);
}

TEST_CASE("a status that is not UTF-8 is still served as JSON", "[gateway][journal]") {
  gateway_fixture f;
  f.node.set_journal_status(
      {{"kind", "kafka"}, {"last_error", std::string("broker \xff\xfe down")}});
  auto r = f.operator_request(verb::get, "/api/journal");
  REQUIRE(r.status == 200);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  REQUIRE(j["kind"] == "kafka");
  REQUIRE(j["last_error"].get<std::string>().rfind("broker ", 0) == 0);
}

TEST_CASE("a slow journal status does not hold up the I/O thread", "[gateway][journal]") {
  auto options = gateway_fixture::test_options();
  options.threads = 1;  // one I/O thread: were the status run on it everything would wait
  gateway_fixture f(options);
  f.node.hold_journal(true);
  release_journal release{f.node};
  http_reply journal;
  std::thread t([&] { journal = f.operator_request(verb::get, "/api/journal"); });
  REQUIRE(f.node.wait_journal_started(1));
  // The node is still inside journal_status: health and a WebSocket are served meanwhile.
  REQUIRE(http_request(f.port, verb::get, "/healthz").status == 200);
  ws_client ws;
  REQUIRE_FALSE(ws.connect(f.port));
  REQUIRE_FALSE(ws.send_text("echo:still here"));
  std::string echoed;
  REQUIRE_FALSE(ws.read(echoed));
  REQUIRE(echoed == "still here");
  REQUIRE(f.node.journal_calls() == 0);
  f.node.hold_journal(false);
  t.join();
  REQUIRE(journal.status == 200);
  REQUIRE(nlohmann::json::parse(journal.body)["kind"] == "fake");
}

TEST_CASE("the gateway stops while a journal status is in the node's hands", "[gateway][journal]") {
  auto f = std::make_unique<gateway_fixture>();
  f->node.hold_journal(true);
  http_reply journal;
  std::thread t([&] { journal = f->operator_request(verb::get, "/api/journal"); });
  REQUIRE(f->node.wait_journal_started(1));
  // stop() waits for the worker's running call: let it finish from another thread meanwhile.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    f->node.hold_journal(false);
  });
  f->server->stop();
  releaser.join();
  t.join();
  // Whether the answer made it out before the connection closed depends on the order of the
  // two; either a full 200 or no reply at all, never a broken one.
  REQUIRE((journal.status == 200 || journal.status == 0));
}

TEST_CASE("loopback peers are told apart from the rest", "[gateway][journal]") {
  for (std::string_view a : {"127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "::ffff:127.0.0.1",
                             "::ffff:127.9.9.9"}) {
    INFO(a);
    REQUIRE(gateway::is_loopback_peer(a));
  }
  for (std::string_view a :
       {"10.0.0.1", "192.168.1.20", "192.0.2.2", "0.0.0.0", "128.0.0.1", "126.255.255.255",
        "::", "::2", "fe80::1", "2001:db8::1", "::ffff:10.0.0.1", "::127.0.0.1", "", "localhost",
        "127.0.0.1:80", "not an address"}) {
    INFO(a);
    REQUIRE_FALSE(gateway::is_loopback_peer(a));
  }
}

TEST_CASE("a peer on another address of this machine is judged by its token alone",
          "[gateway][journal]") {
  auto address = non_loopback_ipv4();
  if (!address) {
    WARN("this machine has no non-loopback IPv4 address; the token tests cover the rule");
    return;
  }
  auto options = gateway_fixture::test_options();
  options.host = "0.0.0.0";
  gateway_fixture f(options);
  // Without the token: 401, whatever the method, and the node is not asked.
  for (auto v : {verb::get, verb::post}) {
    for (const char* path : {"/api/journal", "/api/cluster"}) {
      auto r = http_request_at(*address, f.port, v, path);
      REQUIRE(r.status == 401);
      REQUIRE(error_code_of(r) == "unauthenticated");
    }
  }
  REQUIRE(f.node.journal_calls() == 0);
  REQUIRE(f.node.cluster_calls() == 0);
  // With it, from the same address: served.
  const header_list bearer{
      {"Authorization", std::string("Bearer ") + gateway_fixture::admin_token}};
  REQUIRE(http_request_with(*address, f.port, verb::get, "/api/journal", {}, bearer).status == 200);
  // And the rest of the HTTP API is not restricted.
  REQUIRE(http_request_at(*address, f.port, verb::get, "/healthz").status == 200);
}
