// The WebSocket side of the gateway against a fake node: upgrade, frames both ways, the close
// codes of the contract, the slow-reader cap, timeouts and stop().

#include <condition_variable>
#include <mutex>
#include <thread>

#include "gateway_fixture.hpp"
#include "test_client.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
namespace websocket = boost::beast::websocket;

namespace {

bool has_frame(const fake_node::record& r, const std::string& frame) {
  return std::find(r.frames.begin(), r.frames.end(), frame) != r.frames.end();
}

/// Every session the gateway opened was told it closed, exactly once.
void require_all_closed_once(fake_node& node) {
  REQUIRE(node.wait_for([](const auto& records) {
    for (const auto& r : records)
      if (r.closed == 0) return false;
    return true;
  }));
  for (const auto& r : node.snapshot()) REQUIRE(r.closed == 1);
}

}  // namespace

TEST_CASE("upgrade with the hibiki.v1 sub-protocol echoes it", "[gateway][ws]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port, std::string("hibiki.v1")));
  REQUIRE(c.negotiated_protocol() == "hibiki.v1");
}

TEST_CASE("upgrade offering hibiki.v1 among others picks it", "[gateway][ws]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port, std::string("chat.v9, hibiki.v1")));
  REQUIRE(c.negotiated_protocol() == "hibiki.v1");
}

TEST_CASE("upgrade without a sub-protocol is served", "[gateway][ws]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE(c.negotiated_protocol().empty());
  REQUIRE_FALSE(c.send_text("echo:hi"));
  std::string reply;
  REQUIRE_FALSE(c.read(reply));
  REQUIRE(reply == "hi");
}

TEST_CASE("text frames reach the session in order", "[gateway][ws]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port, std::string("hibiki.v1")));
  for (int i = 0; i < 50; ++i) REQUIRE_FALSE(c.send_text(R"({"id":)" + std::to_string(i) + "}"));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1 && r[0].frames.size() == 50; }));
  auto records = f.node.snapshot();
  for (int i = 0; i < 50; ++i)
    REQUIRE(records[0].frames[i] == R"({"id":)" + std::to_string(i) + "}");
}

TEST_CASE("frames sent through the link reach the client in order", "[gateway][ws]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
  auto link = f.node.link(0);
  // Many at once, from a foreign thread, as pushes arrive from actors: they queue and coalesce.
  for (int i = 0; i < 500; ++i)
    link->send(std::make_shared<const std::string>("push-" + std::to_string(i)));
  for (int i = 0; i < 500; ++i) {
    std::string frame;
    REQUIRE_FALSE(c.read(frame));
    REQUIRE(frame == "push-" + std::to_string(i));
  }
}

TEST_CASE("a burst bigger than a sync replay reaches a reading client whole", "[gateway][ws]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
  auto link = f.node.link(0);
  for (int i = 0; i < 3000; ++i)
    link->send(
        std::make_shared<const std::string>(R"({"ev":"x","seq":)" + std::to_string(i) + "}"));
  for (int i = 0; i < 3000; ++i) {
    std::string frame;
    REQUIRE_FALSE(c.read(frame));
    REQUIRE(frame == R"({"ev":"x","seq":)" + std::to_string(i) + "}");
  }
  REQUIRE(f.node.snapshot()[0].closed == 0);
}

TEST_CASE("one shared frame goes to many clients", "[gateway][ws]") {
  gateway_fixture f;
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<ws_client>());
    REQUIRE_FALSE(clients.back()->connect(f.port));
  }
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 5; }));
  auto frame = std::make_shared<const std::string>(R"({"ev":"message_created"})");
  for (std::size_t i = 0; i < 5; ++i) f.node.link(i)->send(frame);
  for (auto& c : clients) {
    std::string got;
    REQUIRE_FALSE(c->read(got));
    REQUIRE(got == *frame);
  }
}

TEST_CASE("a binary frame closes with 1003", "[gateway][ws]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE_FALSE(c.send_binary(std::string("\x01\x02\x03", 3)));
  REQUIRE(c.read_until_closed() == 1003);
  require_all_closed_once(f.node);
  REQUIRE(f.node.snapshot()[0].frames.empty());
}

TEST_CASE("a frame over max_frame_bytes closes with 1009", "[gateway][ws]") {
  gateway_fixture f;  // max_frame_bytes = 4096
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE_FALSE(c.send_text(std::string(4096, 'a')));  // at the limit: accepted
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1 && r[0].frames.size() == 1; }));
  c.send_text(std::string(4097, 'b'));
  REQUIRE(c.read_until_closed() == 1009);
  require_all_closed_once(f.node);
  REQUIRE(f.node.snapshot()[0].frames.size() == 1);
}

TEST_CASE("link close(1008) reaches the client with its code after queued frames",
          "[gateway][ws]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
  auto link = f.node.link(0);
  link->send(std::make_shared<const std::string>(R"({"re":1,"ok":false})"));
  link->close(1008, "unauthenticated");
  std::string frame;
  REQUIRE_FALSE(c.read(frame));
  REQUIRE(frame == R"({"re":1,"ok":false})");
  REQUIRE(c.read_until_closed() == 1008);
  require_all_closed_once(f.node);
}

TEST_CASE("a close requested by the session from on_text works", "[gateway][ws]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE_FALSE(c.send_text("close:1008"));
  REQUIRE(c.read_until_closed() == 1008);
  require_all_closed_once(f.node);
}

TEST_CASE("a client closing normally is reported once", "[gateway][ws]") {
  gateway_fixture f;
  {
    ws_client c;
    REQUIRE_FALSE(c.connect(f.port));
    REQUIRE_FALSE(c.send_text("hello"));
    // Sessions open in on_accept on either I/O thread: make sure the first one is c's.
    REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
  }  // the socket just goes away, no close frame
  ws_client d;
  REQUIRE_FALSE(d.connect(f.port));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 2 && r[0].closed == 1; }));
  REQUIRE(has_frame(f.node.snapshot()[0], "hello"));
}

TEST_CASE("a slow reader is disconnected and the server stays up", "[gateway][ws]") {
  gateway_fixture f;  // max_outgoing_bytes = 256 KiB
  ws_client slow;
  REQUIRE_FALSE(slow.connect(f.port, {}, {}, /*rcvbuf=*/4096));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
  auto link = f.node.link(0);
  // 4000 x 16 KiB = 64 MiB: far past any socket buffer; the client never reads.
  auto chunk = std::make_shared<const std::string>(16 * 1024, 'x');
  for (int i = 0; i < 4000; ++i) link->send(chunk);
  REQUIRE(f.node.wait_for([](const auto& r) { return r[0].closed == 1; }));

  ws_client fresh;
  REQUIRE_FALSE(fresh.connect(f.port));
  REQUIRE_FALSE(fresh.send_text("echo:alive"));
  std::string reply;
  REQUIRE_FALSE(fresh.read(reply));
  REQUIRE(reply == "alive");
}

TEST_CASE("a single frame larger than the cap is delivered", "[gateway][ws]") {
  gateway_fixture f;  // max_outgoing_bytes = 256 KiB
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
  auto big = std::make_shared<const std::string>(1024 * 1024, 'h');
  f.node.link(0)->send(big);
  f.node.link(0)->send(std::make_shared<const std::string>("after"));
  std::string got;
  REQUIRE_FALSE(c.read(got));
  REQUIRE(got == *big);
  REQUIRE_FALSE(c.read(got));
  REQUIRE(got == "after");
  REQUIRE(f.node.snapshot()[0].closed == 0);
}

TEST_CASE("a drain notice runs once the client has taken what was queued", "[gateway][ws]") {
  gateway_fixture f;  // max_outgoing_bytes = 256 KiB
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
  auto link = f.node.link(0);
  std::mutex m;
  std::condition_variable cv;
  int notices = 0;
  auto notice = [&] {
    std::lock_guard lock(m);
    ++notices;
    cv.notify_all();
  };
  auto wait_notices = [&](int n) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return notices >= n; });
  };
  // Nothing queued: at once.
  link->when_drained(0, notice);
  REQUIRE(wait_notices(1));
  // 200 KiB queued: the notice for "all of it written" comes, at the latest, once the client
  // has read everything, and exactly once.
  auto chunk = std::make_shared<const std::string>(16 * 1024, 'd');
  for (int i = 0; i < 12; ++i) link->send(chunk);
  link->when_drained(0, notice);
  std::string got;
  for (int i = 0; i < 12; ++i) {
    REQUIRE_FALSE(c.read(got));
    REQUIRE(got == *chunk);
  }
  REQUIRE(wait_notices(2));
  REQUIRE_FALSE(c.send_text("echo:after"));
  REQUIRE_FALSE(c.read(got));
  REQUIRE(got == "after");
  std::lock_guard lock(m);
  REQUIRE(notices == 2);
  REQUIRE(f.node.snapshot()[0].closed == 0);
}

TEST_CASE("Origin allow-list refuses other origins with 403", "[gateway][ws]") {
  auto options = gateway_fixture::test_options();
  options.allowed_origins = {"http://good.example"};
  gateway_fixture f(options);

  ws_client bad;
  REQUIRE(bad.connect(f.port, {}, std::string("http://evil.example")));
  REQUIRE(upgrade_status(f.port, "/ws", std::string("http://evil.example")) == 403);
  REQUIRE(upgrade_status(f.port, "/ws", std::string("http://good.example")) == 101);
  REQUIRE(upgrade_status(f.port, "/elsewhere") == 404);

  ws_client good;
  REQUIRE_FALSE(good.connect(f.port, {}, std::string("http://good.example")));
  ws_client no_origin;
  REQUIRE_FALSE(no_origin.connect(f.port));
  // Two clients and one hand-made upgrade were accepted; the refused ones opened no session.
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 3; }));
}

TEST_CASE("an idle client that answers pings stays and a dead one is timed out", "[gateway][ws]") {
  auto options = gateway_fixture::test_options();
  options.idle_timeout = std::chrono::milliseconds(600);
  gateway_fixture f(options);

  ws_client alive;
  REQUIRE_FALSE(alive.connect(f.port));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
  // The reading thread answers the server's keep-alive pings (Beast does it inside read).
  std::string got;
  boost::beast::error_code read_ec;
  std::thread reader([&] { read_ec = alive.read(got); });
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // several idle periods
  f.node.link(0)->send(std::make_shared<const std::string>("still here"));
  reader.join();
  REQUIRE_FALSE(read_ec);
  REQUIRE(got == "still here");
  REQUIRE(f.node.snapshot()[0].closed == 0);

  // A client that never reads never answers a ping: the idle timeout ends it.
  ws_client dead;
  REQUIRE_FALSE(dead.connect(f.port));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 2 && r[1].closed == 1; }));
}

TEST_CASE("a silent HTTP connection does not hold up other clients", "[gateway][ws]") {
  gateway_fixture f;
  // An HTTP connection that sends nothing: the request timeout closes it; the server serves on.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s(ioc);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), f.port});
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE_FALSE(c.send_text("echo:ok"));
  std::string reply;
  REQUIRE_FALSE(c.read(reply));
  REQUIRE(reply == "ok");
}

TEST_CASE("stop() closes WebSockets with 1001", "[gateway][ws]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1; }));
  std::uint16_t code = 0;
  std::thread reader([&] { code = c.read_until_closed(); });
  f.server->stop();
  reader.join();
  REQUIRE(code == 1001);
  REQUIRE(f.node.snapshot()[0].closed == 1);
  // Stopped: no more connections.
  ws_client late;
  REQUIRE(late.connect(f.port));
}

TEST_CASE("the server keeps serving after bad inputs", "[gateway][ws]") {
  gateway_fixture f;
  {
    ws_client c;
    REQUIRE_FALSE(c.connect(f.port));
    c.send_binary("bin");
    c.read_until_closed();
  }
  {
    ws_client c;
    REQUIRE_FALSE(c.connect(f.port));
    c.send_text(std::string(100'000, 'z'));
    c.read_until_closed();
  }
  {
    ws_client c;
    REQUIRE_FALSE(c.connect(f.port, std::string("nonsense")));
    REQUIRE(c.negotiated_protocol().empty());
  }
  REQUIRE(http_request(f.port, boost::beast::http::verb::get, "/ws").status == 400);
  REQUIRE(http_request(f.port, boost::beast::http::verb::post, "/api/signup", "{").status == 400);

  ws_client c;
  REQUIRE_FALSE(c.connect(f.port, std::string("hibiki.v1")));
  REQUIRE_FALSE(c.send_text("echo:still ok"));
  std::string reply;
  REQUIRE_FALSE(c.read(reply));
  REQUIRE(reply == "still ok");
  REQUIRE(http_request(f.port, boost::beast::http::verb::get, "/healthz").status == 200);
}
