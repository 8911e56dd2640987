#include "ws_session.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

#include "hibiki/metrics/registry.hpp"
#include "ws_frame.hpp"

namespace hibiki::gateway {
namespace {

/// The link the actor side writes to. Weak on purpose (see ws_session).
class ws_link final : public actors::client_link {
 public:
  ws_link(std::shared_ptr<gateway_context> ctx, std::weak_ptr<ws_session> session,
          std::shared_ptr<ws_access> access, std::string peer)
      : ctx_(std::move(ctx)),
        session_(std::move(session)),
        access_(std::move(access)),
        peer_(std::move(peer)) {}

  void send(std::shared_ptr<const std::string> frame) override {
    ctx_->gate.run([&] {
      if (auto s = session_.lock()) s->post_send(std::move(frame));
    });
  }

  void close(std::uint16_t code, std::string reason) override {
    ctx_->gate.run([&] {
      if (auto s = session_.lock()) s->post_close(code, std::move(reason));
    });
  }

  void when_drained(std::size_t below_bytes, std::function<void()> ready) override {
    ctx_->gate.run([&] {
      if (auto s = session_.lock()) s->post_when_drained(below_bytes, std::move(ready));
    });
  }

  std::string peer() const override { return peer_; }

  void authenticated(account_id account) override { access_->set_account(account.value); }

 private:
  std::shared_ptr<gateway_context> ctx_;
  std::weak_ptr<ws_session> session_;
  std::shared_ptr<ws_access> access_;
  const std::string peer_;
};

/// The sub-protocol to echo: `hibiki.v1` when the client offers it among others, none otherwise.
bool offers_hibiki_v1(std::string_view header) {
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = header.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "hibiki.v1") return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

ws_session::ws_session(std::shared_ptr<gateway_context> ctx, edge_stream&& stream,
                       admission_slot&& slot)
    : ctx_(std::move(ctx)),
      ws_(std::move(stream)),
      slot_(std::move(slot)),
      peer_(peer_text(beast::get_lowest_layer(ws_).socket())) {}

ws_session::~ws_session() {
  notify_closed();
  write_access_record();
  if (registry_id_ != 0) ctx_->registry.remove(registry_id_);
}

void ws_session::run(http::request<http::string_body> req) {
  registry_id_ = ctx_->registry.add(weak_from_this());
  ws_.next_layer().set_owner(shared_from_this());
  // A raw pointer: the layer is a member, so the listener cannot outlive this session.
  ws_.next_layer().set_flush_listener([this] { run_drain_waiters(); });

  // The WebSocket stream has its own timers; the TCP stream's would cut idle-but-alive clients.
  beast::get_lowest_layer(ws_).expires_never();

  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = ctx_->options.handshake_timeout;
  timeouts.idle_timeout = ctx_->options.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);

  const bool echo_protocol = offers_hibiki_v1(to_std(req[http::field::sec_websocket_protocol]));
  ws_.set_option(websocket::stream_base::decorator([echo_protocol](websocket::response_type& res) {
    res.set(http::field::server, "hibiki");
    if (echo_protocol) res.set(http::field::sec_websocket_protocol, "hibiki.v1");
  }));
  ws_.read_message_max(ctx_->options.max_frame_bytes);
  // One message, one frame: clients read whole JSON objects and the queue counts whole frames.
  ws_.auto_fragment(false);

  ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
}

void ws_session::on_accept(beast::error_code ec) {
  if (ec) return;  // nothing was opened on the actor side yet
  accepted_ = true;
  if (closing_) {
    // stop() asked for a close while the opening handshake ran: close now, open no session.
    do_close();
    return;
  }
  session_ =
      ctx_->node()->open_session(std::make_shared<ws_link>(ctx_, weak_from_this(), access_, peer_));
  if (ctx_->options.metrics) {
    ctx_->options.metrics->http_request(metrics::http_path::websocket, 101);
    ctx_->options.metrics->websocket_opened();
  }
  do_read();
}

void ws_session::do_read() {
  ws_.async_read_some(net::buffer(idle_read_),
                      beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
}

void ws_session::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec) return end_reading(ec);
  if (!ws_.got_text()) {
    begin_close(websocket::close_code::unknown_data, "binary frames are not supported");
    return;
  }
  if (ws_.is_message_done()) return deliver(std::string(idle_read_.data(), bytes));
  message_.assign(idle_read_.data(), bytes);
  message_bytes_ = bytes;
  read_more();
}

void ws_session::read_more() {
  // What is left of the current frame (Beast's hint), at least a little and at most 64 KiB a
  // read; read_message_max still bounds the whole message.
  const auto chunk = std::clamp<std::size_t>(ws_.read_size_hint(16 * 1024), 512, 64 * 1024);
  message_.resize(message_bytes_ + chunk);
  ws_.async_read_some(net::buffer(message_.data() + message_bytes_, chunk),
                      beast::bind_front_handler(&ws_session::on_read_more, shared_from_this()));
}

void ws_session::on_read_more(beast::error_code ec, std::size_t bytes) {
  if (ec) {
    message_ = std::string();
    return end_reading(ec);
  }
  message_bytes_ += bytes;
  if (!ws_.is_message_done()) return read_more();
  message_.resize(message_bytes_);
  deliver(std::exchange(message_, std::string()));
}

void ws_session::end_reading(beast::error_code ec) {
  read_error_ = ec;
  // Includes the peer's close, a 1009 (Beast already sent the close frame), timeouts and drops.
  notify_closed();
}

void ws_session::deliver(std::string message) {
  access_->frame_in(message.size());
  if (session_ && !closing_) session_->on_text(std::move(message));
  do_read();
}

void ws_session::post_send(std::shared_ptr<const std::string> frame) {
  net::post(ws_.get_executor(), [self = shared_from_this(), frame = std::move(frame)]() mutable {
    self->enqueue(std::move(frame));
  });
}

void ws_session::post_close(std::uint16_t code, std::string reason) {
  net::post(ws_.get_executor(),
            [self = shared_from_this(), code, reason = std::move(reason)]() mutable {
              self->begin_close(code, std::move(reason));
            });
}

void ws_session::post_when_drained(std::size_t below_bytes, std::function<void()> ready) {
  net::post(ws_.get_executor(),
            [self = shared_from_this(), below_bytes, ready = std::move(ready)]() mutable {
              if (self->closing_ || self->dropped_) return;
              self->drain_waiters_.push_back({below_bytes, std::move(ready)});
              self->run_drain_waiters();
            });
}

std::size_t ws_session::unsent_bytes() {
  return ws_.next_layer().unflushed_bytes();
}

void ws_session::run_drain_waiters() {
  if (drain_waiters_.empty()) return;
  const auto now = unsent_bytes();
  std::vector<std::function<void()>> due;
  auto keep = drain_waiters_.begin();
  for (auto& w : drain_waiters_) {
    if (w.below_bytes >= now)
      due.push_back(std::move(w.ready));
    else
      *keep++ = std::move(w);
  }
  drain_waiters_.erase(keep, drain_waiters_.end());
  for (auto& f : due) f();
}

void ws_session::shutdown() {
  post_close(websocket::close_code::going_away, "server stopping");
}

void ws_session::enqueue(std::shared_ptr<const std::string> frame) {
  // Not open any more: a close frame is out or on its way (ours, or Beast's answer to the
  // client's), and no data frame may follow it.
  if (closing_ || dropped_ || !frame || !ws_.is_open()) return;
  // Too slow = the backlog (not yet on the socket) is over the cap plus the largest frame queued
  // since the backlog was last empty. The allowance lets a single frame larger than the cap
  // through, with the frames right behind it (a full history page can be several MiB), while a
  // client that stops reading still holds at most the cap plus one large frame.
  auto& layer = ws_.next_layer();
  const auto backlog = layer.unflushed_bytes();
  if (backlog == 0) large_frame_allowance_ = 0;
  large_frame_allowance_ = std::max(large_frame_allowance_, frame->size());
  if (backlog > ctx_->options.max_outgoing_bytes + large_frame_allowance_ ||
      layer.unflushed_frames() >= ctx_->options.max_outgoing_frames) {
    // Its socket is not taking what we send. A close frame would wait behind the same full
    // socket, so drop the connection; the memory is freed now.
    if (ctx_->options.metrics) ctx_->options.metrics->slow_client_dropped();
    drop();
    return;
  }
  // Straight into the write layer as a whole frame, the bytes Beast would write for it (see
  // ws_frame.hpp): no write operation, handler or strand trip per frame.
  ws_frame_header header;
  if (layer.append_frame(text_frame_header(frame->size(), header), *frame))
    access_->frame_out(frame->size());
}

void ws_session::begin_close(std::uint16_t code, std::string reason) {
  if (closing_ || dropped_) return;
  closing_ = true;
  close_code_ = code;
  close_text_ = std::move(reason);
  if (!accepted_) return;  // on_accept closes once the opening handshake is done
  // Frames queued before the close are already in the write layer, ahead of the close frame
  // (e.g. the error reply that explains it).
  do_close();
}

void ws_session::do_close() {
  close_started_ = true;
  // Beast writes the close frame into its own buffer at once: a temporary reason is enough.
  ws_.async_close(
      websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_text_),
      [self = shared_from_this()](beast::error_code) {
        // The read loop ends with `closed` or an error as well; notify_closed runs once either way.
        self->notify_closed();
      });
}

void ws_session::drop() {
  if (dropped_) return;
  dropped_ = true;
  drain_waiters_.clear();
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(ws_).close();
}

void ws_session::write_access_record() const {
  // 1006: the connection ended without a close frame (RFC 6455 7.1.5).
  unsigned code = websocket::close_code::abnormal;
  std::string_view by = "client";
  if (dropped_) {
    by = "server";  // a slow reader, dropped without a close frame
  } else if (closing_) {
    by = "server";
    code = close_code_;
  } else if (read_error_ == websocket::error::closed) {
    code = ws_.reason().code;
  } else if (read_error_ == beast::error::timeout) {
    by = "server";  // idle: no frame and no answer to our pings
  } else if (read_error_ == websocket::error::message_too_big) {
    by = "server";
    code = websocket::close_code::too_big;
  }
  access_->end(peer_, accepted_, code, by);
}

void ws_session::notify_closed() {
  if (closed_notified_ || !session_) return;
  closed_notified_ = true;
  if (ctx_->options.metrics) ctx_->options.metrics->websocket_closed();
  session_->on_closed();
}

}  // namespace hibiki::gateway
