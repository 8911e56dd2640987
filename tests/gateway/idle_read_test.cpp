// The WebSocket read path of an idle connection: a connection waits for its next message with a
// small fixed buffer, and a message larger than it continues into one grown for it. These check
// that every size arrives whole and in order, fragmented messages too, that a connection that
// sat idle still takes large messages both ways, and that bad frames still get their close codes.

#include <thread>

#include <boost/asio/connect.hpp>

#include "gateway_fixture.hpp"
#include "test_client.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// A client that can send a message in several frames (test_client's cannot).
struct fragmenting_client {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};

  explicit fragmenting_client(std::uint16_t port) {
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws.handshake("127.0.0.1", "/ws");
    ws.text(true);
  }

  /// Sends `text` as frames of at most `piece` bytes.
  boost::beast::error_code send_in_pieces(const std::string& text, std::size_t piece) {
    boost::beast::error_code ec;
    for (std::size_t at = 0; at < text.size() && !ec; at += piece) {
      const auto n = std::min(piece, text.size() - at);
      ws.write_some(at + n == text.size(), net::buffer(text.data() + at, n), ec);
    }
    return ec;
  }

  /// Reads until the server closes; its close code (0 when none).
  std::uint16_t read_until_closed() {
    boost::beast::flat_buffer b;
    boost::beast::error_code ec;
    while (!ec) ws.read(b, ec);
    return ec == websocket::error::closed ? static_cast<std::uint16_t>(ws.reason().code) : 0;
  }
};

std::string pattern(std::size_t n, char seed) {
  std::string s(n, ' ');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (seed + i) % 26);
  return s;
}

}  // namespace

TEST_CASE("messages of every size around the idle buffer arrive whole and in order",
          "[gateway][ws][idle]") {
  gateway_fixture f;  // max_frame_bytes = 4096
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  const std::vector<std::size_t> sizes{0,    1,    255,  256,  257,  511,  512, 513, 1000,
                                       1535, 1536, 1537, 3000, 4095, 4096, 10,  300, 2};
  for (std::size_t i = 0; i < sizes.size(); ++i)
    REQUIRE_FALSE(c.send_text(pattern(sizes[i], static_cast<char>(i))));
  REQUIRE(f.node.wait_for(
      [&](const auto& r) { return r.size() == 1 && r[0].frames.size() == sizes.size(); }));
  const auto records = f.node.snapshot();
  for (std::size_t i = 0; i < sizes.size(); ++i)
    REQUIRE(records[0].frames[i] == pattern(sizes[i], static_cast<char>(i)));
}

TEST_CASE("a message sent in many small frames arrives as one", "[gateway][ws][idle]") {
  gateway_fixture f;
  fragmenting_client c(f.port);
  const auto big = pattern(4000, 3);
  REQUIRE_FALSE(c.send_in_pieces(big, 7));
  REQUIRE_FALSE(c.send_in_pieces("small", 2));
  REQUIRE_FALSE(c.send_in_pieces(pattern(600, 5), 300));
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1 && r[0].frames.size() == 3; }));
  const auto records = f.node.snapshot();
  REQUIRE(records[0].frames[0] == big);
  REQUIRE(records[0].frames[1] == "small");
  REQUIRE(records[0].frames[2] == pattern(600, 5));
}

TEST_CASE("a connection that sat idle takes a large push and sends a large message",
          "[gateway][ws][idle]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  REQUIRE_FALSE(c.send_text("echo:first"));
  std::string got;
  REQUIRE_FALSE(c.read(got));
  REQUIRE(got == "first");
  // Idle: the server is waiting with only its small read buffer.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto push = std::make_shared<const std::string>(pattern(1024 * 1024, 1));
  f.node.link(0)->send(push);
  REQUIRE_FALSE(c.read(got));
  REQUIRE(got == *push);
  // And the other way: a message near the cap, then an echo to show the loop went on.
  const auto echo = "echo:" + pattern(4000, 2);
  REQUIRE_FALSE(c.send_text(echo));
  REQUIRE_FALSE(c.read(got));
  REQUIRE(got == echo.substr(5));
  REQUIRE(f.node.snapshot()[0].closed == 0);
}

TEST_CASE("a message over the cap in small frames closes with 1009", "[gateway][ws][idle]") {
  gateway_fixture f;  // max_frame_bytes = 4096
  fragmenting_client c(f.port);
  c.send_in_pieces(pattern(5000, 1), 1024);  // the fifth frame passes the cap
  REQUIRE(c.read_until_closed() == 1009);
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1 && r[0].closed == 1; }));
  REQUIRE(f.node.snapshot()[0].frames.empty());
}

TEST_CASE("text that is not UTF-8 closes with 1007, in the idle buffer or past it",
          "[gateway][ws][idle]") {
  gateway_fixture f;
  for (const std::size_t at : {std::size_t{3}, std::size_t{2000}}) {
    ws_client c;
    REQUIRE_FALSE(c.connect(f.port));
    auto bad = pattern(at + 10, 0);
    bad[at] = '\xff';
    c.send_text(bad);
    REQUIRE(c.read_until_closed() == 1007);
  }
  REQUIRE(f.node.wait_for(
      [](const auto& r) { return r.size() == 2 && r[0].closed == 1 && r[1].closed == 1; }));
  for (const auto& r : f.node.snapshot()) REQUIRE(r.frames.empty());
}

TEST_CASE("a binary message larger than the idle buffer closes with 1003", "[gateway][ws][idle]") {
  gateway_fixture f;
  ws_client c;
  REQUIRE_FALSE(c.connect(f.port));
  c.send_binary(std::string(3000, '\x01'));
  REQUIRE(c.read_until_closed() == 1003);
  REQUIRE(f.node.wait_for([](const auto& r) { return r.size() == 1 && r[0].closed == 1; }));
  REQUIRE(f.node.snapshot()[0].frames.empty());
}
