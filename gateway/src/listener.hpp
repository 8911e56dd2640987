#pragma once
/// Accepts TCP connections and starts an http_session on its own strand for each.
/// Owned by shared_ptr through its pending accept; runs on its own strand.

#include <memory>

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

  net::io_context& ioc_;
  std::shared_ptr<gateway_context> ctx_;
  listener_role role_;
  tcp::acceptor acceptor_;
  bool stopped_ = false;
};

}  // namespace hibiki::gateway
