#include "xmpp_client.hpp"

#include <charconv>
#include <cstdio>

#include "../frame_scan.hpp"

namespace hibiki::bench {
namespace {

/// Sends in flight past which the rate mode skips a tick instead of queueing without bound.
constexpr std::size_t rate_mode_in_flight_cap = 1000;
/// Marker in every message body, followed by the send time in ns (as in the hibiki mode).
constexpr std::string_view time_marker = "lg:t=";
constexpr std::string_view register_id = "reg";
constexpr std::string_view bind_id = "bind";

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

}  // namespace

xmpp_client::xmpp_client(net::io_context& ioc, run_clock& clock, tcp::endpoint endpoint,
                         std::string host_header, std::string path, bool tls, std::string user,
                         const xmpp_options& opts, std::size_t index)
    : clock_(clock),
      conn_(std::make_shared<ws_connection>(ioc, endpoint, std::move(host_header), std::move(path),
                                            tls)),
      user_(std::move(user)),
      opts_(opts),
      index_(index),
      timer_(conn_->executor()) {
  conn_->set_subprotocol("xmpp");
}

void xmpp_client::connect(done_handler done) {
  connect_done_ = std::move(done);
  auto self = shared_from_this();
  conn_->start(
      [self](beast::error_code ec) {
        if (ec) return self->finish_connect("connect: " + ec.message());
        self->conn_->send(xmpp::open_stream(self->opts_.domain));
      },
      [self](std::string_view frame) { self->on_frame(frame); },
      [self](beast::error_code ec) {
        self->closed_early_ = !self->clock_.stopping.load();
        self->clock_.outstanding -= static_cast<std::int64_t>(self->pending_.size());
        self->pending_.clear();
        if (self->closed_early_) ++self->stats_.errors["connection_closed"];
        self->finish_connect("connection closed during set-up: " + ec.message());
        for (auto& [room, d] : self->joins_) d("connection closed while joining " + room);
        self->joins_.clear();
        for (auto& [id, d] : self->configs_) d("connection closed while configuring a room");
        self->configs_.clear();
      });
}

void xmpp_client::finish_connect(std::string error) {
  if (!connect_done_) return;
  auto done = std::move(connect_done_);
  connect_done_ = nullptr;
  done(std::move(error));
}

void xmpp_client::join(std::string room_jid, done_handler done) {
  conn_->send(xmpp::join_room(room_jid, user_));
  joins_.emplace(std::move(room_jid), std::move(done));
}

void xmpp_client::on_frame(std::string_view frame) {
  auto read = xmpp::read_frame(frame);
  if (!read.value) {
    if (stats_.errors["xmpp_bad_frame"]++ == 0) {
      std::fprintf(stderr, "hibiki_loadgen: %s: bad frame from the server (%s): %.*s\n",
                   user_.c_str(), read.error.c_str(),
                   static_cast<int>(std::min<std::size_t>(frame.size(), 300)), frame.data());
    }
    return;
  }
  const auto& ev = *read.value;
  using xmpp::event_kind;
  switch (ev.kind) {
    case event_kind::groupchat:
      return on_groupchat(ev);
    case event_kind::message_error:
      return on_message_error(ev);
    case event_kind::presence:
    case event_kind::presence_error:
      return on_presence(ev);
    case event_kind::stream_error:
      ++stats_.errors["stream_error_" + ev.condition];
      return finish_connect("stream error: " + ev.condition);
    case event_kind::stream_close:
      return finish_connect("the server closed the stream");
    default:
      break;
  }
  if (phase_ != phase::ready) return on_setup_event(ev);
  if (ev.kind == event_kind::iq_result || ev.kind == event_kind::iq_error) {
    auto it = configs_.find(ev.id);
    if (it == configs_.end()) return;
    auto done = std::move(it->second);
    configs_.erase(it);
    done(ev.kind == event_kind::iq_result ? "" : "instant room refused: " + ev.condition);
  }
}

void xmpp_client::on_setup_event(const xmpp::event& ev) {
  using xmpp::event_kind;
  switch (phase_) {
    case phase::opening:
      if (ev.kind != event_kind::stream_features) return;  // the <open/> before them
      if (opts_.register_accounts) {
        phase_ = phase::registering;
        conn_->send(xmpp::register_account(register_id, user_, opts_.password));
      } else {
        phase_ = phase::authenticating;
        conn_->send(xmpp::auth_plain(user_, opts_.password));
      }
      return;
    case phase::registering:
      if (ev.id != register_id) return;
      // An account left by an earlier run with the same name is used as it is.
      if (ev.kind == event_kind::iq_error && ev.condition != "conflict")
        return finish_connect("registration refused: " + ev.condition);
      phase_ = phase::authenticating;
      conn_->send(xmpp::auth_plain(user_, opts_.password));
      return;
    case phase::authenticating:
      if (ev.kind == event_kind::sasl_failure)
        return finish_connect("authentication failed: " + ev.condition);
      if (ev.kind != event_kind::sasl_success) return;
      phase_ = phase::reopening;
      conn_->send(xmpp::open_stream(opts_.domain));  // a new stream after SASL (RFC 6120 6.4.6)
      return;
    case phase::reopening:
      if (ev.kind != event_kind::stream_features) return;
      phase_ = phase::binding;
      conn_->send(xmpp::bind_resource(bind_id, "lg"));
      return;
    case phase::binding:
      if (ev.id != bind_id) return;
      if (ev.kind == event_kind::iq_error) return finish_connect("bind refused: " + ev.condition);
      if (ev.kind != event_kind::iq_result) return;
      phase_ = phase::ready;
      return finish_connect("");
    case phase::ready:
      return;
  }
}

void xmpp_client::on_presence(const xmpp::event& ev) {
  const auto occupant = xmpp::split_occupant(ev.from);
  if (!occupant) return;  // the room's own presence (entity capabilities)
  const auto [room, nick] = *occupant;
  auto it = joins_.find(std::string(room));
  if (it == joins_.end()) return;
  if (ev.kind == xmpp::event_kind::presence_error) {
    auto done = std::move(it->second);
    joins_.erase(it);
    return done("join refused: " + ev.condition);
  }
  // Our own presence (status 110) ends the join; 201: we created the room and must unlock it.
  const auto has = [&](int code) {
    return std::find(ev.status_codes.begin(), ev.status_codes.end(), code) != ev.status_codes.end();
  };
  if (nick != user_ || !has(110)) return;
  auto done = std::move(it->second);
  joins_.erase(it);
  if (!has(201)) return done("");
  const auto id = "cfg" + std::to_string(next_iq_++);
  conn_->send(xmpp::instant_room(id, room));
  configs_.emplace(id, std::move(done));
}

void xmpp_client::start_sending(std::vector<std::string> rooms, send_plan plan) {
  net::post(conn_->executor(), [self = shared_from_this(), rooms = std::move(rooms), plan] {
    self->rooms_ = rooms;
    self->plan_ = plan;
    self->padding_.assign(plan.body_size, 'x');
    if (self->rooms_.empty() || !self->conn_->is_open()) return;
    if (plan.rate_per_connection > 0) {
      const auto interval = std::chrono::duration<double>(1.0 / plan.rate_per_connection);
      const double phase = static_cast<double>(self->index_ % 1000) / 1000.0;
      self->next_tick_ = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::nanoseconds>(interval * phase);
      self->schedule_tick();
    } else {
      self->fill_window();
    }
  });
}

void xmpp_client::shutdown() {
  net::post(conn_->executor(), [self = shared_from_this()] {
    self->timer_.cancel();
    self->conn_->close();
  });
}

void xmpp_client::send_one() {
  if (rooms_.empty() || !conn_->is_open()) return;
  const auto& room = rooms_[next_room_++ % rooms_.size()];
  const auto id = next_message_++;
  const auto t = now_ns();
  std::string body;
  body.reserve(32 + padding_.size());
  body += time_marker;
  body += std::to_string(t);
  body += ' ';
  body += padding_;
  pending_.emplace(id, t);
  ++clock_.outstanding;
  if (clock_.in_window(t)) ++stats_.sent_in_window;
  conn_->send(xmpp::groupchat(room, std::to_string(id), body));
}

void xmpp_client::schedule_tick() {
  timer_.expires_at(next_tick_);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->clock_.stopping.load(std::memory_order_relaxed)) return;
    if (self->pending_.size() < rate_mode_in_flight_cap) {
      self->send_one();
    } else {
      ++self->stats_.skipped;
    }
    const auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(1.0 / self->plan_.rate_per_connection));
    self->next_tick_ += interval;
    const auto now = std::chrono::steady_clock::now();
    if (self->next_tick_ + interval < now) self->next_tick_ = now;
    self->schedule_tick();
  });
}

void xmpp_client::fill_window() {
  while (pending_.size() < plan_.window && conn_->is_open()) send_one();
}

void xmpp_client::on_groupchat(const xmpp::event& ev) {
  const auto t = scan_int(ev.text, time_marker);
  if (!t) return;  // not one of ours
  const auto now = now_ns();
  const auto nick = xmpp::split_occupant(ev.from)->second;
  if (nick != user_) {
    ++clock_.pushes_total;
    if (clock_.in_window(now)) ++stats_.delivered_in_window;
    if (clock_.in_window(*t)) stats_.delivery.record(static_cast<std::uint64_t>((now - *t) / 1000));
    return;
  }
  // Our own message reflected by the room: the ack.
  const auto id = parse_u64(ev.id);
  const auto it = id ? pending_.find(*id) : pending_.end();
  if (it == pending_.end()) {
    ++stats_.errors["unknown_reflection_id"];
    return;
  }
  pending_.erase(it);
  --clock_.outstanding;
  if (clock_.in_window(now)) ++stats_.acked_in_window;
  if (clock_.in_window(*t)) stats_.ack.record(static_cast<std::uint64_t>((now - *t) / 1000));
  if (plan_.rate_per_connection == 0 && !clock_.stopping.load()) fill_window();
}

void xmpp_client::on_message_error(const xmpp::event& ev) {
  ++stats_.errors[ev.condition];
  const auto id = parse_u64(ev.id);
  const auto it = id ? pending_.find(*id) : pending_.end();
  if (it == pending_.end()) return;
  pending_.erase(it);
  --clock_.outstanding;
  if (plan_.rate_per_connection == 0 && !clock_.stopping.load()) fill_window();
}

}  // namespace hibiki::bench
