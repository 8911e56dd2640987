#include "ws_connection.hpp"

namespace hibiki::bench {

namespace websocket = beast::websocket;

ws_connection::ws_connection(net::io_context& ioc, tcp::endpoint endpoint, std::string host_header,
                             std::string path, bool tls)
    : strand_(net::make_strand(ioc)),
      ws_(strand_, tls),
      endpoint_(endpoint),
      host_header_(std::move(host_header)),
      path_(std::move(path)) {}

void ws_connection::start(open_handler on_open, frame_handler on_frame, close_handler on_close) {
  on_open_ = std::move(on_open);
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(ws_).async_connect(
      endpoint_, beast::bind_front_handler(&ws_connection::on_connect, shared_from_this()));
}

void ws_connection::on_connect(beast::error_code ec) {
  if (ec) return on_open_(ec);
  beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
  ws_.next_layer().async_handshake(
      beast::bind_front_handler(&ws_connection::on_tls_handshake, shared_from_this()));
}

void ws_connection::on_tls_handshake(beast::error_code ec) {
  if (ec) return on_open_(ec);
  // The websocket stream keeps its own timeouts from here on.
  beast::get_lowest_layer(ws_).expires_never();
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws_.read_message_max(4 * 1024 * 1024);
  if (!subprotocol_.empty()) {
    ws_.set_option(
        websocket::stream_base::decorator([p = subprotocol_](websocket::request_type& r) {
          r.set(beast::http::field::sec_websocket_protocol, p);
        }));
  }
  ws_.async_handshake(host_header_, path_,
                      beast::bind_front_handler(&ws_connection::on_handshake, shared_from_this()));
}

void ws_connection::on_handshake(beast::error_code ec) {
  if (ec) return on_open_(ec);
  open_ = true;
  ws_.text(true);
  on_open_(ec);
  do_read();
  if (!queue_.empty()) do_write();
}

void ws_connection::do_read() {
  ws_.async_read(buffer_, beast::bind_front_handler(&ws_connection::on_read, shared_from_this()));
}

void ws_connection::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    const bool was_open = open_;
    open_ = false;
    if (was_open && on_close_) on_close_(ec);
    return;
  }
  const auto data = buffer_.data();
  on_frame_(std::string_view(static_cast<const char*>(data.data()), data.size()));
  buffer_.consume(buffer_.size());
  do_read();
}

void ws_connection::send(std::string text) {
  queue_.push_back(std::move(text));
  if (open_ && queue_.size() == 1) do_write();
}

void ws_connection::do_write() {
  ws_.async_write(net::buffer(queue_.front()),
                  beast::bind_front_handler(&ws_connection::on_write, shared_from_this()));
}

void ws_connection::on_write(beast::error_code ec, std::size_t) {
  if (ec) {
    // The read side sees the failure too and reports the close.
    queue_.clear();
    return;
  }
  queue_.pop_front();
  if (!queue_.empty() && open_) do_write();
}

void ws_connection::close() {
  if (!open_ || closing_) return;
  closing_ = true;
  ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
}

}  // namespace hibiki::bench
