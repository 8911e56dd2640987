// The write-behind layer under a real server-side websocket::stream: frames written while it is
// corked leave in a few socket writes, arrive intact and in order, and the close handshake still
// reaches the peer (the teardown waits for the buffered close frame).

#include <thread>

#include <catch2/catch.hpp>

#include "coalescing_stream.hpp"
#include "test_client.hpp"

using namespace hibiki::gateway;

namespace {

struct server_side {
  explicit server_side(net::io_context& ioc) : ws(beast::tcp_stream(net::make_strand(ioc))) {}
  websocket::stream<coalescing_stream<beast::tcp_stream>> ws;
  std::vector<std::string> frames;
  std::size_t next = 0;
  bool closed = false;

  void write_next(std::shared_ptr<void> keep) {
    if (next == frames.size()) {
      ws.next_layer().uncork();
      ws.async_close(websocket::close_code::normal,
                     [this, keep](beast::error_code) { closed = true; });
      return;
    }
    ws.async_write(net::buffer(frames[next]), [this, keep](beast::error_code ec, std::size_t) {
      REQUIRE_FALSE(ec);
      ++next;
      write_next(keep);
    });
  }
};

}  // namespace

TEST_CASE("corked frames leave in few socket writes intact and in order", "[gateway][coalesce]") {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();

  std::vector<std::string> received;
  std::uint16_t close_code = 0;
  std::thread client([&] {
    net::io_context cioc;
    websocket::stream<tcp::socket> ws(cioc);
    ws.next_layer().connect({net::ip::make_address("127.0.0.1"), port});
    ws.handshake("127.0.0.1", "/ws");
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

  auto owner = std::make_shared<int>(0);
  server_side s(ioc);
  s.ws.next_layer().set_owner(owner);
  for (int i = 0; i < 300; ++i) s.frames.push_back("frame-" + std::to_string(i));
  acceptor.async_accept([&](beast::error_code ec, tcp::socket socket) {
    REQUIRE_FALSE(ec);
    s.ws.next_layer().next_layer().socket() = std::move(socket);
    s.ws.async_accept([&](beast::error_code ec2) {
      REQUIRE_FALSE(ec2);
      s.ws.next_layer().cork();
      s.write_next(owner);
    });
  });
  ioc.run();
  client.join();

  REQUIRE(s.closed);
  REQUIRE(close_code == 1000);
  REQUIRE(received.size() == 300);
  for (int i = 0; i < 300; ++i) REQUIRE(received[i] == "frame-" + std::to_string(i));
  // 300 frames + the handshake reply + the close frame went through the layer...
  REQUIRE(s.ws.next_layer().accepted_writes() >= 302);
  // ...in a handful of socket writes: the handshake reply, the corked batch, the close frame.
  REQUIRE(s.ws.next_layer().socket_writes() <= 4);
  REQUIRE(s.ws.next_layer().unflushed_bytes() == 0);
}
