#pragma once
/// The byte stream of one client connection: plain TCP or TLS over TCP, chosen per listener at
/// run time. One type for both, so http_session and ws_session are written once (no templates,
/// no second copy of either): every read and write goes to the TLS stream when there is one and
/// to the TCP stream otherwise.
///
/// `next_layer()` is always the TCP stream (beast::get_lowest_layer reaches it the same way in
/// both cases): timeouts (expires_after), shutdown and close act on it. A plain connection pays
/// for no TLS state; a TLS one holds the SSL context it was made with, so a certificate reload
/// never pulls it from under an open connection.

#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "beast_fwd.hpp"

namespace hibiki::gateway {

class edge_stream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  using next_layer_type = beast::tcp_stream;

  /// Plain TCP.
  explicit edge_stream(tcp::socket&& socket) : plain_(std::in_place, std::move(socket)) {}
  /// TLS with `ctx` (the server handshake is still to be done: async_handshake).
  edge_stream(tcp::socket&& socket, std::shared_ptr<net::ssl::context> ctx)
      : tls_ctx_(std::move(ctx)) {
    tls_.emplace(std::move(socket), *tls_ctx_);
  }

  edge_stream(edge_stream&&) = default;
  edge_stream& operator=(edge_stream&&) = delete;

  bool is_tls() const { return tls_.has_value(); }

  executor_type get_executor() noexcept { return next_layer().get_executor(); }
  next_layer_type& next_layer() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
  const next_layer_type& next_layer() const noexcept { return tls_ ? tls_->next_layer() : *plain_; }

  /// The server side of the TLS handshake; completes at once on a plain stream. Bounded by the
  /// TCP stream's expiry (set it before).
  template <class Handler>
  auto async_handshake(Handler&& handler) {
    return net::async_initiate<Handler, void(beast::error_code)>(
        [this](auto&& h) {
          if (tls_)
            tls_->async_handshake(net::ssl::stream_base::server, std::move(h));
          else
            net::post(get_executor(), beast::bind_front_handler(std::move(h), beast::error_code{}));
        },
        handler);
  }

  /// Sends TLS close_notify (and waits for the peer's, bounded by the TCP stream's expiry);
  /// completes at once on a plain stream.
  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return net::async_initiate<Handler, void(beast::error_code)>(
        [this](auto&& h) {
          if (tls_)
            tls_->async_shutdown(std::move(h));
          else
            net::post(get_executor(), beast::bind_front_handler(std::move(h), beast::error_code{}));
        },
        handler);
  }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return net::async_initiate<ReadHandler, void(beast::error_code, std::size_t)>(
        [this](auto&& h, const MutableBufferSequence& b) {
          if (tls_)
            tls_->async_read_some(b, std::move(h));
          else
            plain_->async_read_some(b, std::move(h));
        },
        handler, buffers);
  }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return net::async_initiate<WriteHandler, void(beast::error_code, std::size_t)>(
        [this](auto&& h, const ConstBufferSequence& b) {
          if (tls_)
            tls_->async_write_some(b, std::move(h));
          else
            plain_->async_write_some(b, std::move(h));
        },
        handler, buffers);
  }

  /// The WebSocket close tears the stream down: TLS close_notify first when on TLS.
  friend void teardown(beast::role_type role, edge_stream& s, beast::error_code& ec) {
    using beast::websocket::teardown;
    if (s.tls_)
      teardown(role, *s.tls_, ec);
    else
      teardown(role, *s.plain_, ec);
  }

  template <class TeardownHandler>
  friend void async_teardown(beast::role_type role, edge_stream& s, TeardownHandler&& handler) {
    using beast::websocket::async_teardown;
    if (s.tls_)
      async_teardown(role, *s.tls_, std::forward<TeardownHandler>(handler));
    else
      async_teardown(role, *s.plain_, std::forward<TeardownHandler>(handler));
  }

 private:
  std::shared_ptr<net::ssl::context> tls_ctx_;  ///< declared first: outlives tls_
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
};

}  // namespace hibiki::gateway
