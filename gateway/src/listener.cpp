#include "listener.hpp"

#include "http_session.hpp"

namespace hibiki::gateway {

listener::listener(net::io_context& ioc, std::shared_ptr<gateway_context> ctx, listener_role role)
    : ioc_(ioc), ctx_(std::move(ctx)), role_(role), acceptor_(net::make_strand(ioc)) {}

status listener::open(const tcp::endpoint& endpoint) {
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return status(errc::unavailable, "cannot listen on " + endpoint.address().to_string() + ":" +
                                         std::to_string(endpoint.port()) + ": " + ec.message());
  }
  return status::success();
}

tcp::endpoint listener::local_endpoint() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void listener::run() {
  do_accept();
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    beast::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

void listener::do_accept() {
  // Each connection gets its own strand, so its handlers never run concurrently.
  acceptor_.async_accept(net::make_strand(ioc_),
                         beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopped_) return;
  if (!ec) {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<http_session>(ctx_, std::move(socket), role_)->run();
  } else if (ec == net::error::operation_aborted) {
    return;
  }
  // Other errors (e.g. too many open files) affect one accept, not the listener.
  do_accept();
}

}  // namespace hibiki::gateway
