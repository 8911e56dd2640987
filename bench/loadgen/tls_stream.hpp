#pragma once
/// The load generator's byte stream: plain TCP or TLS over TCP (for wss:// and https:// servers),
/// one type for both so the WebSocket and sign-up clients are written once. `next_layer()` is the
/// TCP stream either way. The client does not verify the server's certificate: it measures the
/// server's cost of TLS, not who the server is (never point it at a server you do not run).

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <optional>
#include <utility>

namespace hibiki::bench {

/// The process-wide client context: TLS 1.2 or later, no verification (see above).
std::shared_ptr<boost::asio::ssl::context> client_tls_context();

class tls_stream {
 public:
  using tcp_stream = boost::beast::tcp_stream;
  using executor_type = tcp_stream::executor_type;
  using next_layer_type = tcp_stream;

  /// Plain when `tls` is false.
  template <class Executor>
  tls_stream(Executor&& ex, bool tls) {
    if (tls) {
      ctx_ = client_tls_context();
      tls_.emplace(std::forward<Executor>(ex), *ctx_);
    } else {
      plain_.emplace(std::forward<Executor>(ex));
    }
  }

  bool is_tls() const { return tls_.has_value(); }
  executor_type get_executor() noexcept { return next_layer().get_executor(); }
  next_layer_type& next_layer() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
  const next_layer_type& next_layer() const noexcept { return tls_ ? tls_->next_layer() : *plain_; }

  /// The client TLS handshake; nothing on a plain stream.
  void handshake(boost::beast::error_code& ec) {
    if (tls_) tls_->handshake(boost::asio::ssl::stream_base::client, ec);
  }
  template <class Handler>
  void async_handshake(Handler&& handler) {
    if (tls_) {
      tls_->async_handshake(boost::asio::ssl::stream_base::client, std::forward<Handler>(handler));
    } else {
      boost::asio::post(get_executor(),
                        boost::beast::bind_front_handler(std::forward<Handler>(handler),
                                                         boost::beast::error_code{}));
    }
  }

  template <class Buffers>
  std::size_t read_some(const Buffers& b, boost::beast::error_code& ec) {
    return tls_ ? tls_->read_some(b, ec) : plain_->read_some(b, ec);
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& b, boost::beast::error_code& ec) {
    return tls_ ? tls_->write_some(b, ec) : plain_->write_some(b, ec);
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& b) {
    return tls_ ? tls_->read_some(b) : plain_->read_some(b);
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& b) {
    return tls_ ? tls_->write_some(b) : plain_->write_some(b);
  }

  template <class Buffers, class Handler>
  auto async_read_some(const Buffers& buffers, Handler&& handler) {
    return boost::asio::async_initiate<Handler, void(boost::beast::error_code, std::size_t)>(
        [this](auto&& h, const Buffers& b) {
          if (tls_)
            tls_->async_read_some(b, std::move(h));
          else
            plain_->async_read_some(b, std::move(h));
        },
        handler, buffers);
  }
  template <class Buffers, class Handler>
  auto async_write_some(const Buffers& buffers, Handler&& handler) {
    return boost::asio::async_initiate<Handler, void(boost::beast::error_code, std::size_t)>(
        [this](auto&& h, const Buffers& b) {
          if (tls_)
            tls_->async_write_some(b, std::move(h));
          else
            plain_->async_write_some(b, std::move(h));
        },
        handler, buffers);
  }

  friend void teardown(boost::beast::role_type role, tls_stream& s, boost::beast::error_code& ec) {
    using boost::beast::websocket::teardown;
    if (s.tls_)
      teardown(role, *s.tls_, ec);
    else
      teardown(role, *s.plain_, ec);
  }
  template <class Handler>
  friend void async_teardown(boost::beast::role_type role, tls_stream& s, Handler&& handler) {
    using boost::beast::websocket::async_teardown;
    if (s.tls_)
      async_teardown(role, *s.tls_, std::forward<Handler>(handler));
    else
      async_teardown(role, *s.plain_, std::forward<Handler>(handler));
  }

 private:
  std::shared_ptr<boost::asio::ssl::context> ctx_;  ///< declared first: outlives tls_
  std::optional<tcp_stream> plain_;
  std::optional<boost::beast::ssl_stream<tcp_stream>> tls_;
};

}  // namespace hibiki::bench
