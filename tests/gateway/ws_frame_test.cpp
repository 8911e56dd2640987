// The data frames the gateway writes by hand (ws_frame.hpp, coalescing_stream::append_frame) are
// the bytes Beast writes for the same message, and they reach a client intact when Beast's own
// control frames (pings, the close frame) go through the same layer between them.

#include <functional>
#include <thread>

#include <boost/beast/_experimental/test/stream.hpp>
#include <catch2/catch.hpp>

#include "coalescing_stream.hpp"
#include "test_client.hpp"
#include "ws_frame.hpp"

using namespace hibiki::gateway;

namespace {

/// What a server-side Beast stream (no deflate, auto_fragment off, text) writes for `payload`.
std::string beast_frame(const std::string& payload) {
  net::io_context ioc;
  beast::test::stream server(ioc);
  beast::test::stream client(ioc);
  server.connect(client);
  websocket::stream<beast::test::stream&, false> ws(server);
  http::request<http::empty_body> req{http::verb::get, "/ws", 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  ws.accept(req);
  client.clear();  // the 101 reply
  ws.auto_fragment(false);
  ws.text(true);
  ws.write(net::buffer(payload));
  return std::string(client.str());
}

std::string hand_frame(const std::string& payload) {
  ws_frame_header header;
  return std::string(text_frame_header(payload.size(), header)) + payload;
}

}  // namespace

TEST_CASE("a hand-written text frame is Beast's bytes at every length boundary",
          "[gateway][ws_frame]") {
  for (std::size_t n :
       {0u, 1u, 124u, 125u, 126u, 127u, 1000u, 65535u, 65536u, 65537u, 70000u, 1u << 20}) {
    std::string payload(n, 'x');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + i % 26);
    INFO("payload bytes " << n);
    REQUIRE(hand_frame(payload) == beast_frame(payload));
  }
  // Bytes are not looked at: quotes, control characters and non-ASCII pass as they are.
  const std::string odd = std::string("{\"t\":\"\xc3\xa9\\n\"}") + std::string(1, '\0');
  REQUIRE(hand_frame(odd) == beast_frame(odd));
}

TEST_CASE("appended frames and Beast's pings and close frame reach a client intact and in order",
          "[gateway][ws_frame]") {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();

  std::vector<std::string> received;
  int pings = 0;
  std::uint16_t close_code = 0;
  std::thread client([&] {
    net::io_context cioc;
    websocket::stream<tcp::socket> ws(cioc);
    ws.next_layer().connect({net::ip::make_address("127.0.0.1"), port});
    ws.handshake("127.0.0.1", "/ws");
    ws.control_callback([&](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::ping) ++pings;
    });
    for (;;) {
      beast::flat_buffer b;
      beast::error_code ec;
      ws.read(b, ec);
      if (ec == websocket::error::closed) {
        close_code = static_cast<std::uint16_t>(ws.reason().code);
        break;
      }
      if (ec) break;
      received.push_back(beast::buffers_to_string(b.data()));
    }
  });

  // Frames of every header form, a ping after every tenth.
  std::vector<std::string> frames;
  for (int i = 0; i < 200; ++i) {
    const std::size_t extra = i % 3 == 0 ? 0 : i % 3 == 1 ? 300 : 70'000;
    frames.push_back("frame-" + std::to_string(i) + std::string(extra, '.'));
  }
  auto owner = std::make_shared<int>(0);
  websocket::stream<coalescing_stream<beast::tcp_stream>, false> ws(
      beast::tcp_stream(net::make_strand(ioc)));
  ws.next_layer().set_owner(owner);
  bool closed = false;
  std::size_t pings_sent = 0;
  std::size_t next = 0;
  auto append = [&](std::size_t count) {
    for (; count > 0 && next < frames.size(); --count, ++next) {
      ws_frame_header header;
      REQUIRE(ws.next_layer().append_frame(text_frame_header(frames[next].size(), header),
                                           frames[next]));
    }
  };
  // Ten frames, a ping, five more frames while the ping is in flight, and on when it completes
  // (Beast allows one ping at a time); then the close frame.
  std::function<void()> step = [&] {
    append(10);
    if (next == frames.size()) {
      ws.async_close(websocket::close_code::normal,
                     [&, owner](beast::error_code) { closed = true; });
      return;
    }
    ++pings_sent;
    ws.async_ping({}, [&](beast::error_code ec) {
      REQUIRE_FALSE(ec);
      step();
    });
    append(5);
  };
  acceptor.async_accept([&](beast::error_code ec, tcp::socket socket) {
    REQUIRE_FALSE(ec);
    ws.next_layer().next_layer().socket() = std::move(socket);
    ws.async_accept([&](beast::error_code ec2) {
      REQUIRE_FALSE(ec2);
      step();
    });
  });
  ioc.run();
  client.join();

  REQUIRE(closed);
  REQUIRE(close_code == 1000);
  REQUIRE(pings == static_cast<int>(pings_sent));
  REQUIRE(received == frames);
  REQUIRE(ws.next_layer().unflushed_bytes() == 0);
  REQUIRE(ws.next_layer().unflushed_frames() == 0);
}
