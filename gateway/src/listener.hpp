#pragma once
/// Accepts TCP connections and starts an http_session on its own strand for each, after
/// admission control (connection caps). Out of file descriptors it backs off instead of spinning.
/// Owned by shared_ptr through its pending accept; runs on its own strand.

#include <chrono>
#include <memory>

#include <boost/asio/steady_timer.hpp>

#include "beast_fwd.hpp"
#include "gateway_context.hpp"
#include "hibiki/core/result.hpp"
#include "routes.hpp"

namespace hibiki::gateway {

class listener : public std::enable_shared_from_this<listener> {
 public:
  /// `role`: the main listener (--http) or the operator one (--admin-http); routes.hpp says what
  /// each serves.
  listener(net::io_context& ioc, std::shared_ptr<gateway_context> ctx,
           listener_role role = listener_role::main);

  /// Opens, binds and listens. Errors: unavailable.
  status open(const tcp::endpoint& endpoint);
  tcp::endpoint local_endpoint() const;
  void run();
  /// Thread-safe: closes the acceptor on its strand.
  void stop();

 private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  /// Counts the connection against the caps and hands it to an http_session (which answers 503
  /// or 429 when it is over one), or closes it at once when even that is too much.
  void admit(tcp::socket socket);
  /// EMFILE, ENFILE, ENOBUFS, ENOMEM: the machine, not the peer, is short.
  static bool out_of_resources(const beast::error_code& ec);

  net::io_context& ioc_;
  std::shared_ptr<gateway_context> ctx_;
  listener_role role_;
  tcp::acceptor acceptor_;
  bool stopped_ = false;
  net::steady_timer backoff_timer_;
  std::chrono::milliseconds backoff_{0};
  std::size_t failed_accepts_ = 0;  ///< in a row, for the log line when accepting works again
  std::chrono::steady_clock::time_point last_backoff_log_{};
};

}  // namespace hibiki::gateway
