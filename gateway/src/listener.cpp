#include "listener.hpp"

#include <algorithm>
#include <cerrno>

#include "hibiki/core/log.hpp"
#include "http_session.hpp"

namespace hibiki::gateway {

listener::listener(net::io_context& ioc, std::shared_ptr<gateway_context> ctx, listener_role role)
    : ioc_(ioc),
      ctx_(std::move(ctx)),
      role_(role),
      acceptor_(net::make_strand(ioc)),
      backoff_timer_(acceptor_.get_executor()) {}

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
    self->backoff_timer_.cancel();
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
    if (failed_accepts_ != 0) {
      log::info("gateway") << "accepting again after " << failed_accepts_ << " failed accepts";
      failed_accepts_ = 0;
    }
    backoff_ = std::chrono::milliseconds(0);
    admit(std::move(socket));
  } else if (ec == net::error::operation_aborted) {
    return;
  } else if (out_of_resources(ec)) {
    // The pending connection stays in the kernel's queue, so accepting again at once fails again
    // at once: that loop would burn a core. Wait, doubling from 100 ms up to 1 s, then retry.
    backoff_ =
        std::clamp(backoff_ * 2, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
    if (failed_accepts_++ == 0 ||
        std::chrono::steady_clock::now() - last_backoff_log_ > std::chrono::seconds(10)) {
      last_backoff_log_ = std::chrono::steady_clock::now();
      log::error("gateway") << "cannot accept a connection: " << ec.message() << "; retrying every "
                            << backoff_.count() << " ms until it works"
                            << " (raise the open-file limit, or lower --max-connections)";
    }
    backoff_timer_.expires_after(backoff_);
    backoff_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec && !self->stopped_) self->do_accept();
    });
    return;
  }
  // Other errors (e.g. the peer reset before we took it) affect one accept, not the listener.
  do_accept();
}

bool listener::out_of_resources(const beast::error_code& ec) {
  return ec == net::error::no_descriptors ||  // EMFILE
         ec == beast::error_code(ENFILE, beast::system_category()) ||
         ec == net::error::no_buffer_space || ec == net::error::no_memory;
}

void listener::admit(tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  const auto peer = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  // A trusted proxy carries many clients: they are counted per forwarded address at upgrade.
  const auto key =
      in_any(peer.address(), ctx_->trusted_proxies) ? std::string() : limit_key(peer.address());
  admission_slot slot;
  const auto verdict = ctx_->limits.admit(key, slot);
  if (verdict == connection_limits::verdict::close_at_once) {
    socket.close(ec);
    return;
  }
  auto stream = ctx_->tls ? edge_stream(std::move(socket), ctx_->tls->current())
                          : edge_stream(std::move(socket));
  std::make_shared<http_session>(ctx_, std::move(stream), std::move(slot), verdict, role_)->run();
}

}  // namespace hibiki::gateway
