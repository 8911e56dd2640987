#include "load_client.hpp"

#include <algorithm>

#include "frame_scan.hpp"

namespace hibiki::bench {
namespace {

/// Sends in flight past which the rate mode skips a tick instead of queueing without bound.
constexpr std::size_t rate_mode_in_flight_cap = 1000;
/// Marker in every message body, followed by the send time in ns of the shared steady clock.
constexpr std::string_view time_marker = "lg:t=";

}  // namespace

load_client::load_client(net::io_context& ioc, run_clock& clock, tcp::endpoint endpoint,
                         std::string host_header, std::string path, account acct, std::size_t index,
                         std::size_t server, bool tls)
    : clock_(clock),
      conn_(std::make_shared<ws_connection>(ioc, endpoint, std::move(host_header), std::move(path),
                                            tls)),
      acct_(std::move(acct)),
      index_(index),
      server_(server),
      timer_(conn_->executor()) {}

void load_client::connect(std::function<void(std::string error)> done) {
  auto self = shared_from_this();
  conn_->start(
      [self, done](beast::error_code ec) {
        if (ec) return done("connect: " + ec.message());
        self->request({{"op", "auth"}, {"token", self->acct_.token}},
                      [done](const nlohmann::json& reply) {
                        if (reply.value("ok", false)) return done("");
                        done("auth: " + reply.dump());
                      });
      },
      [self](std::string_view frame) { self->on_frame(frame); },
      [self](beast::error_code) {
        self->closed_early_ = !self->clock_.stopping.load();
        // Replies that will never come: release their window slots from the global count.
        std::int64_t sends = 0;
        for (auto& [id, p] : self->pending_) sends += p.sent_ns != 0;
        self->clock_.outstanding -= sends;
        self->pending_.clear();
        self->in_flight_ = 0;
        if (self->closed_early_) ++self->stats_.errors["connection_closed"];
      });
}

void load_client::request(nlohmann::json req, reply_handler on_reply) {
  const auto id = next_id_++;
  req["id"] = id;
  pending_.emplace(id, pending{0, std::move(on_reply), hop::unknown});
  conn_->send(req.dump());
}

void load_client::start_sending(std::vector<std::uint64_t> rooms, send_plan plan,
                                std::vector<hop> hops) {
  net::post(conn_->executor(), [self = shared_from_this(), rooms = std::move(rooms), plan,
                                hops = std::move(hops)] {
    self->rooms_ = rooms;
    if (hops.size() == rooms.size() && !hops.empty()) {
      self->hops_ = hops;
      self->stats_.ack_local = std::make_unique<latency_histogram>();
      self->stats_.ack_remote = std::make_unique<latency_histogram>();
    }
    self->plan_ = plan;
    self->padding_.assign(plan.body_size, 'x');
    if (self->rooms_.empty() || !self->conn_->is_open()) return;
    if (plan.rate_per_connection > 0) {
      // Spread the connections' first sends over one interval so they do not tick together.
      const auto interval = std::chrono::duration<double>(1.0 / plan.rate_per_connection);
      const double phase = static_cast<double>(self->index_ % 1000) / 1000.0;
      self->next_tick_ = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::nanoseconds>(interval * phase);
      self->schedule_tick();
    } else {
      self->cwnd_ = plan.window;
      self->fill_window();
    }
  });
}

void load_client::shutdown() {
  net::post(conn_->executor(), [self = shared_from_this()] {
    self->timer_.cancel();
    self->conn_->close();
  });
}

void load_client::send_one() {
  if (rooms_.empty() || !conn_->is_open()) return;
  const auto room_index = next_room_++ % rooms_.size();
  const auto room = rooms_[room_index];
  const auto id = next_id_++;
  const auto t = now_ns();
  std::string frame;
  frame.reserve(160 + padding_.size());
  frame += R"({"id":)";
  frame += std::to_string(id);
  frame += R"(,"op":"send_message","room_id":)";
  frame += std::to_string(room);
  frame += R"(,"body":")";
  frame += time_marker;
  frame += std::to_string(t);
  frame += ' ';
  frame += padding_;
  frame += R"(","client_msg_id":"lg-)";
  frame += std::to_string(index_);
  frame += '-';
  frame += std::to_string(sends_++);
  frame += R"("})";
  pending_.emplace(id, pending{t, nullptr, hops_.empty() ? hop::unknown : hops_[room_index]});
  ++in_flight_;
  ++clock_.outstanding;
  if (clock_.in_window(t)) ++stats_.sent_in_window;
  conn_->send(std::move(frame));
}

void load_client::schedule_tick() {
  timer_.expires_at(next_tick_);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->clock_.stopping.load(std::memory_order_relaxed)) return;
    if (self->in_flight_ < rate_mode_in_flight_cap) {
      self->send_one();
    } else {
      ++self->stats_.skipped;
    }
    const auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(1.0 / self->plan_.rate_per_connection));
    self->next_tick_ += interval;
    // Fallen behind by more than a tick (the machine is saturated): do not burst to catch up;
    // the report shows the rate actually sent.
    const auto now = std::chrono::steady_clock::now();
    if (self->next_tick_ + interval < now) self->next_tick_ = now;
    self->schedule_tick();
  });
}

void load_client::pause_after_rate_limit() {
  // Back off like TCP: halve the window, wait, then grow it again by one per window of oks, so a
  // connection settles just under the server's per-connection rate instead of hammering it.
  if (paused_) return;
  paused_ = true;
  cwnd_ = std::max<std::size_t>(1, cwnd_ / 2);
  oks_since_growth_ = 0;
  timer_.expires_after(std::chrono::milliseconds(100));
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    self->paused_ = false;
    if (ec || self->clock_.stopping.load()) return;
    self->fill_window();
  });
}

void load_client::fill_window() {
  while (in_flight_ < cwnd_ && conn_->is_open()) send_one();
}

void load_client::on_frame(std::string_view frame) {
  if (scan_field_is(frame, R"("ev":)", R"("message_created")")) return on_message_created(frame);
  if (scan_has(frame, R"("ev":)")) return;  // other events are not measured
  if (auto id = scan_int(frame, R"("re":)")) return on_reply(*id, frame);
  // A reply with "re": null: a frame the server could not parse. Should not happen.
  auto j = nlohmann::json::parse(frame, nullptr, false);
  std::string code = "unparsed_reply";
  if (!j.is_discarded() && j.contains("error")) code = j["error"].value("code", code);
  ++stats_.errors[code];
}

void load_client::on_reply(std::int64_t id, std::string_view frame) {
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    ++stats_.errors["unknown_reply_id"];
    return;
  }
  pending p = std::move(it->second);
  pending_.erase(it);
  const bool ok = scan_field_is(frame, R"("ok":)", "true");
  if (p.sent_ns != 0) {
    --clock_.outstanding;
    --in_flight_;
    const auto now = now_ns();
    if (ok) {
      if (cwnd_ < plan_.window && ++oks_since_growth_ >= cwnd_) {
        ++cwnd_;
        oks_since_growth_ = 0;
      }
      if (clock_.in_window(now)) ++stats_.acked_in_window;
      if (clock_.in_window(p.sent_ns)) {
        const auto micros = static_cast<std::uint64_t>((now - p.sent_ns) / 1000);
        stats_.ack.record(micros);
        if (p.route == hop::local && stats_.ack_local) stats_.ack_local->record(micros);
        if (p.route == hop::remote && stats_.ack_remote) stats_.ack_remote->record(micros);
      }
    } else {
      auto j = nlohmann::json::parse(frame, nullptr, false);
      std::string code = "unparsed_reply";
      if (!j.is_discarded() && j.contains("error")) code = j["error"].value("code", code);
      ++stats_.errors[code];
      if (code == "rate_limited" && plan_.rate_per_connection == 0) {
        pause_after_rate_limit();
        return;
      }
    }
    if (plan_.rate_per_connection == 0 && !paused_ && !clock_.stopping.load()) fill_window();
    return;
  }
  auto j = nlohmann::json::parse(frame, nullptr, false);
  if (j.is_discarded()) j = nlohmann::json{{"ok", false}, {"raw", std::string(frame)}};
  if (!ok && j.contains("error")) ++stats_.errors[j["error"].value("code", "unknown")];
  if (p.on_reply) p.on_reply(j);
}

void load_client::on_message_created(std::string_view frame) {
  ++clock_.pushes_total;
  auto t = scan_int(frame, time_marker);
  if (!t) return;  // not one of ours
  const auto now = now_ns();
  if (clock_.in_window(now)) ++stats_.delivered_in_window;
  if (clock_.in_window(*t)) stats_.delivery.record(static_cast<std::uint64_t>((now - *t) / 1000));
}

}  // namespace hibiki::bench
