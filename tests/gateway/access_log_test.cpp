// The gateway's access records (one per HTTP response, one per WebSocket session with how it
// ended) and its sign-up audit records, captured from the log facade.

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "access_log.hpp"
#include "gateway_fixture.hpp"
#include "hibiki/core/log.hpp"
#include "test_client.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
namespace http = boost::beast::http;

namespace {

/// Keeps the access and audit records, parsed; waits (bounded) for them.
class record_sink final : public log::sink {
 public:
  void write(log::channel ch, log::level, std::string_view line) override {
    if (ch == log::channel::app) return;
    std::lock_guard lock(mutex_);
    (ch == log::channel::access ? access_ : audit_).push_back(nlohmann::json::parse(line));
    changed_.notify_all();
  }

  /// The records of `ch` named `event`, once there are at least `n` of them (empty otherwise).
  std::vector<nlohmann::json> wait(log::channel ch, std::string_view event, std::size_t n) {
    std::unique_lock lock(mutex_);
    std::vector<nlohmann::json> got;
    changed_.wait_for(lock, std::chrono::seconds(10), [&] {
      got.clear();
      for (const auto& r : ch == log::channel::access ? access_ : audit_)
        if (r["event"] == event) got.push_back(r);
      return got.size() >= n;
    });
    return got.size() >= n ? got : std::vector<nlohmann::json>{};
  }

  std::string all_text() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& r : access_) out += r.dump() + "\n";
    for (const auto& r : audit_) out += r.dump() + "\n";
    return out;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<nlohmann::json> access_, audit_;
};

struct captured {
  captured() { log::install(sink, {log::level::info, true, true}); }
  ~captured() { log::reset(); }
  std::shared_ptr<record_sink> sink = std::make_shared<record_sink>();
};

nlohmann::json ws_record(captured& c) {
  auto got = c.sink->wait(log::channel::access, "ws", 1);
  REQUIRE(got.size() == 1);
  return got[0];
}

}  // namespace

TEST_CASE("loggable paths drop the query string and are bounded", "[gateway][log]") {
  CHECK(gateway::loggable_path("/a/b?token=secret#x") == "/a/b");
  CHECK(gateway::loggable_path("/a#frag") == "/a");
  CHECK(gateway::loggable_path("?only=query") == "-");
  CHECK(gateway::loggable_path("") == "-");
  CHECK(gateway::loggable_path("/" + std::string(1000, 'p')).size() == 256);
}

TEST_CASE("every HTTP response gets one access record with its fields", "[gateway][log]") {
  captured c;
  gateway_fixture f;
  REQUIRE(http_request(f.port, http::verb::get, "/healthz?token=sekrit-value").status == 200);
  REQUIRE(http_request(f.port, http::verb::get, "/missing.html").status == 404);
  REQUIRE(http_request(f.port, http::verb::delete_, "/index.html").status == 405);
  REQUIRE(http_request(f.port, http::verb::get, "/index.html").status == 200);
  auto recs = c.sink->wait(log::channel::access, "http", 4);
  REQUIRE(recs.size() == 4);
  std::vector<std::tuple<std::string, std::string, int>> seen;
  for (const auto& r : recs) {
    seen.emplace_back(r["method"], r["path"], r["status"]);
    CHECK(r["peer"].get<std::string>().starts_with("127.0.0.1:"));
    CHECK(r["bytes_in"].get<std::uint64_t>() > 0);
    CHECK(r["bytes_out"].get<std::uint64_t>() > 0);
    CHECK(r["duration_ms"].get<double>() >= 0);
    CHECK(r["time"].get<std::string>().ends_with("Z"));
  }
  // Written once each response is on the wire, which may be after the client has it: compare
  // without the order.
  std::sort(seen.begin(), seen.end());
  CHECK(seen ==
        std::vector<std::tuple<std::string, std::string, int>>{{"DELETE", "/index.html", 405},
                                                               {"GET", "/healthz", 200},
                                                               {"GET", "/index.html", 200},
                                                               {"GET", "/missing.html", 404}});
  CHECK(c.sink->all_text().find("sekrit") == std::string::npos);
}

TEST_CASE("a refused upgrade is an http record", "[gateway][log]") {
  captured c;
  gateway_fixture f;
  REQUIRE(upgrade_status(f.port, "/elsewhere") == 404);
  auto recs = c.sink->wait(log::channel::access, "http", 1);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0]["status"] == 404);
  CHECK(recs[0]["path"] == "/elsewhere");
}

TEST_CASE("sign-ups are audited with the peer and never the token", "[gateway][log]") {
  captured c;
  gateway_fixture f;
  auto reply = http_request(f.port, http::verb::post, "/api/signup", R"({"name":"alice"})");
  REQUIRE(reply.status == 200);
  auto token = nlohmann::json::parse(reply.body)["token"].get<std::string>();
  REQUIRE_FALSE(token.empty());
  auto signups = c.sink->wait(log::channel::audit, "signup", 1);
  REQUIRE(signups.size() == 1);
  CHECK(signups[0]["name"] == "alice");
  CHECK(signups[0]["account"].get<std::uint64_t>() > 0);
  CHECK(signups[0]["peer"].get<std::string>().starts_with("127.0.0.1:"));
  REQUIRE(c.sink->wait(log::channel::access, "http", 1).size() == 1);
  CHECK(c.sink->all_text().find(token) == std::string::npos);
}

TEST_CASE("a refused sign-up is audited", "[gateway][log]") {
  captured c;
  auto options = gateway_fixture::test_options();
  options.open_signup = false;
  gateway_fixture f(options);
  REQUIRE(http_request(f.port, http::verb::post, "/api/signup", R"({"name":"x"})").status == 403);
  auto refused = c.sink->wait(log::channel::audit, "signup_refused", 1);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0]["reason"] == "sign-up is closed");
}

TEST_CASE("a WebSocket session closed by the client is one ws record with its counts",
          "[gateway][log]") {
  captured c;
  gateway_fixture f;
  {
    ws_client client;
    REQUIRE_FALSE(client.connect(f.port));
    REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
    auto link = f.node.link(0);
    CHECK(link->peer().starts_with("127.0.0.1:"));
    link->authenticated(account_id{7});
    REQUIRE_FALSE(client.send_text("echo:abc"));
    std::string got;
    REQUIRE_FALSE(client.read(got));
    REQUIRE_FALSE(client.send_text("hello"));
    REQUIRE(f.node.wait_for([](const auto& r) { return r[0].frames.size() == 2; }));
    REQUIRE_FALSE(client.close(1000));
  }
  auto r = ws_record(c);
  CHECK(r["accepted"] == true);
  CHECK(r["account"] == 7);
  CHECK(r["frames_in"] == 2);
  CHECK(r["bytes_in"] == std::string("echo:abc").size() + std::string("hello").size());
  CHECK(r["frames_out"] == 1);
  CHECK(r["bytes_out"] == 3);
  CHECK(r["close_code"] == 1000);
  CHECK(r["closed_by"] == "client");
  CHECK(r["peer"].get<std::string>().starts_with("127.0.0.1:"));
  CHECK(r["path"] == "/ws");
}

TEST_CASE("how a session ended is in its ws record", "[gateway][log]") {
  captured c;
  gateway_fixture f;  // max_frame_bytes 4096, max_outgoing_bytes 256 KiB
  ws_client client;
  SECTION("a binary frame: the server closes with 1003") {
    REQUIRE_FALSE(client.connect(f.port));
    REQUIRE_FALSE(client.send_binary("\x01"));
    REQUIRE(client.read_until_closed() == 1003);
    auto r = ws_record(c);
    CHECK(r["close_code"] == 1003);
    CHECK(r["closed_by"] == "server");
    CHECK(r["account"] == 0);
  }
  SECTION("a frame over the limit: 1009") {
    REQUIRE_FALSE(client.connect(f.port));
    client.send_text(std::string(5000, 'x'));
    REQUIRE(client.read_until_closed() == 1009);
    auto r = ws_record(c);
    CHECK(r["close_code"] == 1009);
    CHECK(r["closed_by"] == "server");
  }
  SECTION("the session closes with 1008") {
    REQUIRE_FALSE(client.connect(f.port));
    REQUIRE_FALSE(client.send_text("close:1008"));
    REQUIRE(client.read_until_closed() == 1008);
    auto r = ws_record(c);
    CHECK(r["close_code"] == 1008);
    CHECK(r["closed_by"] == "server");
  }
  SECTION("a slow reader is dropped without a close frame: 1006") {
    REQUIRE_FALSE(client.connect(f.port, {}, {}, /*rcvbuf=*/4096));
    REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
    auto link = f.node.link(0);
    auto chunk = std::make_shared<const std::string>(16 * 1024, 'x');
    for (int i = 0; i < 4000; ++i) link->send(chunk);
    auto r = ws_record(c);
    CHECK(r["close_code"] == 1006);
    CHECK(r["closed_by"] == "server");
    CHECK(r["frames_out"].get<std::uint64_t>() > 0);
  }
  SECTION("stop: 1001") {
    REQUIRE_FALSE(client.connect(f.port));
    REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
    std::uint16_t code = 0;
    std::thread reader([&] { code = client.read_until_closed(); });
    f.server->stop();  // waits for the closing handshake, hence the reader
    reader.join();
    REQUIRE(code == 1001);
    auto r = ws_record(c);
    CHECK(r["close_code"] == 1001);
    CHECK(r["closed_by"] == "server");
  }
}
