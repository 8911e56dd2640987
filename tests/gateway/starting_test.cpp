// A gateway started before its node (server::start_before_node, what hibikid does while the
// journal opens): health, readiness with the opener's reasons, metrics and the web client's files
// are served; the WebSocket, sign-up and operator paths are refused at once with 503; attach()
// then serves everything on the same port.

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "fake_node.hpp"
#include "gateway_fixture.hpp"
#include "hibiki/gateway/server.hpp"
#include "hibiki/metrics/registry.hpp"
#include "readiness.hpp"
#include "routes.hpp"
#include "temp_dir.hpp"
#include "test_client.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using boost::beast::http::verb;

namespace {

/// What the opener says, changed by the test as an open would change it.
struct opener_reasons {
  std::mutex mutex;
  std::vector<std::string> lines{"opening the journal: connecting to kafka topic t at b"};
  std::atomic<int> asked{0};

  std::vector<std::string> get() {
    ++asked;
    std::lock_guard lock(mutex);
    return lines;
  }
  void set(std::vector<std::string> l) {
    std::lock_guard lock(mutex);
    lines = std::move(l);
  }
};

std::vector<std::string> reasons_of(const http_reply& r) {
  auto j = nlohmann::json::parse(r.body);
  REQUIRE(j["ready"] == false);
  return j["reasons"].get<std::vector<std::string>>();
}

}  // namespace

TEST_CASE("a gateway started before its node serves health and readiness and refuses the rest",
          "[gateway][readyz][starting]") {
  temp_dir dir;
  std::filesystem::create_directories(dir.path() / "web");
  write_file(dir.path() / "web" / "index.html", "<!doctype html><title>hibiki</title>");
  auto options = gateway_fixture::test_options();
  options.port = 0;
  options.web_root = (dir.path() / "web").string();
  options.metrics = metrics::registry::create();
  auto reasons = std::make_shared<opener_reasons>();
  fake_node node;  // outlives the server
  auto started = gateway::server::start_before_node(options, [reasons] { return reasons->get(); });
  REQUIRE(started.ok());
  auto server = std::move(started.value());
  const auto port = server->port();

  // Alive, not ready, with the opener's words; they follow the open as it goes.
  auto health = http_request(port, verb::get, "/healthz");
  CHECK(health.status == 200);
  CHECK(nlohmann::json::parse(health.body) == nlohmann::json{{"status", "starting"}});
  auto ready = http_request(port, verb::get, "/readyz");
  CHECK(ready.status == 503);
  CHECK(reasons_of(ready) ==
        std::vector<std::string>{"opening the journal: connecting to kafka topic t at b"});
  reasons->set({"opening the journal: partition 3 catching up 1200/5000",
                "opening the journal: partition 7 catching up ?/?"});
  ready = http_request(port, verb::get, "/readyz");
  CHECK(ready.status == 503);
  CHECK(reasons_of(ready) ==
        std::vector<std::string>{"opening the journal: partition 3 catching up 1200/5000",
                                 "opening the journal: partition 7 catching up ?/?"});
  reasons->set({});  // nothing said: still not ready, for a reason that says so
  CHECK(reasons_of(http_request(port, verb::get, "/readyz")) ==
        std::vector<std::string>{"node starting"});
  CHECK(http_request(port, verb::post, "/readyz", "x").status == 405);

  // Metrics and the web client's files do not need the node.
  CHECK(http_request(port, verb::get, "/metrics").status == 200);
  CHECK(http_request(port, verb::get, "/").status == 200);
  CHECK(http_request(port, verb::get, "/no-such-file").status == 404);

  // What needs the node: refused at once with a clear error, never held.
  CHECK(upgrade_status(port, "/ws") == 503);
  auto signup = http_request(port, verb::post, "/api/signup", R"({"name":"alice"})");
  CHECK(signup.status == 503);
  auto error = nlohmann::json::parse(signup.body)["error"];
  CHECK(error["code"] == "unavailable");
  CHECK(error["message"] == std::string(gateway::starting_message));
  CHECK(
      http_request_with("127.0.0.1", port, verb::get, "/api/journal", "",
                        {{"Authorization", std::string("Bearer ") + gateway_fixture::admin_token}})
          .status == 503);
  // The access rules come first: no token is still 401, not a hint that the node is starting.
  CHECK(http_request(port, verb::get, "/api/journal").status == 401);
  CHECK(node.journal_calls() == 0);
  CHECK(node.sessions() == 0);

  // Attached: the same port serves everything, and readiness comes from the node.
  const int asked_before = reasons->asked.load();
  server->attach(node);
  health = http_request(port, verb::get, "/healthz");
  CHECK(health.status == 200);
  CHECK(nlohmann::json::parse(health.body) == nlohmann::json{{"status", "ok"}});
  CHECK(http_request(port, verb::get, "/readyz").status == 200);
  CHECK(reasons->asked.load() == asked_before);  // the opener is no longer asked
  CHECK(http_request(port, verb::post, "/api/signup", R"({"name":"alice"})").status == 200);
  ws_client ws;
  REQUIRE_FALSE(ws.connect(port));
  REQUIRE_FALSE(ws.send_text("echo:hello"));
  std::string reply;
  REQUIRE_FALSE(ws.read(reply));
  CHECK(reply == "hello");
  server->stop();
}

TEST_CASE("readiness while starting and the paths that need the node", "[gateway][readyz]") {
  using gateway::starting_problems;
  CHECK(starting_problems(nullptr) == std::vector<std::string>{"node starting"});
  CHECK(starting_problems([] { return std::vector<std::string>{}; }) ==
        std::vector<std::string>{"node starting"});
  CHECK(starting_problems([] {
          return std::vector<std::string>{"a", "b"};
        }) == std::vector<std::string>{"a", "b"});

  using gateway::needs_node;
  CHECK(needs_node("/ws"));
  CHECK(needs_node("/api/signup"));
  CHECK(needs_node("/api/journal"));
  CHECK(needs_node("/api/cluster"));
  CHECK(needs_node("/api/admin/rename"));
  CHECK(needs_node("/api/anything"));
  CHECK_FALSE(needs_node("/healthz"));
  CHECK_FALSE(needs_node("/readyz"));
  CHECK_FALSE(needs_node("/metrics"));
  CHECK_FALSE(needs_node("/"));
  CHECK_FALSE(needs_node("/index.html"));
  CHECK_FALSE(needs_node("/wss"));
  CHECK_FALSE(needs_node("/apix"));
}
