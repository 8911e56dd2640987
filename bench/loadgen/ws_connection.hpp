#pragma once
/// One asynchronous WebSocket client connection (Boost.Beast): connect, handshake, a read loop
/// that hands every text frame to a callback, and a write queue (Beast allows one write in
/// flight). Every handler runs on the connection's strand; call send() and close() from that
/// strand too (use post(executor(), ...) from elsewhere).

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tls_stream.hpp"

namespace hibiki::bench {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class ws_connection : public std::enable_shared_from_this<ws_connection> {
 public:
  using strand_type = net::strand<net::io_context::executor_type>;
  using open_handler = std::function<void(beast::error_code)>;
  using frame_handler = std::function<void(std::string_view)>;
  using close_handler = std::function<void(beast::error_code)>;

  /// `tls`: wss:// (a TLS handshake after connecting).
  ws_connection(net::io_context& ioc, tcp::endpoint endpoint, std::string host_header,
                std::string path, bool tls = false);

  strand_type executor() const { return strand_; }

  /// Starts connecting; `on_open` gets the outcome. Frames go to `on_frame` once open, and
  /// `on_close` is called once when the read loop ends after a successful open.
  void start(open_handler on_open, frame_handler on_frame, close_handler on_close);
  /// Offers a WebSocket subprotocol (Sec-WebSocket-Protocol, e.g. "xmpp"); call before start().
  void set_subprotocol(std::string name) { subprotocol_ = std::move(name); }
  void send(std::string text);
  void close();
  bool is_open() const { return open_; }
  std::size_t queued() const { return queue_.size(); }

 private:
  void on_connect(beast::error_code ec);
  void on_tls_handshake(beast::error_code ec);
  void on_handshake(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void do_write();
  void on_write(beast::error_code ec, std::size_t bytes);

  strand_type strand_;
  beast::websocket::stream<tls_stream> ws_;
  tcp::endpoint endpoint_;
  std::string host_header_;
  std::string path_;
  std::string subprotocol_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool open_ = false;
  bool closing_ = false;
  open_handler on_open_;
  frame_handler on_frame_;
  close_handler on_close_;
};

}  // namespace hibiki::bench
