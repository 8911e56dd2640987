#include "rest_channel.hpp"

#include "hibiki/core/protocol.hpp"

namespace hibiki::gateway {
namespace {

/// The session's link: frames and the close go back onto the HTTP connection's strand. Weak, like
/// the WebSocket's link, so an actor never keeps a closed connection alive.
class rest_link final : public actors::client_link {
 public:
  rest_link(std::shared_ptr<gateway_context> ctx, net::any_io_executor executor,
            std::weak_ptr<rest_channel> channel, std::string peer)
      : ctx_(std::move(ctx)),
        executor_(std::move(executor)),
        channel_(std::move(channel)),
        peer_(std::move(peer)) {}

  void send(std::shared_ptr<const std::string> frame) override {
    // Pushes (every message of the account's rooms) are dropped here, on the sender's thread,
    // rather than after a hop onto the strand: REST reads only replies (see on_frame).
    if (!rest_channel::is_reply(*frame)) return;
    ctx_->gate.run([&] {
      net::post(executor_, [weak = channel_, frame = std::move(frame)] {
        if (auto c = weak.lock()) c->on_frame(*frame);
      });
    });
  }

  bool stores_uploads() const override { return true; }

  void send_ok(std::int64_t id, nlohmann::json fields) override {
    // The reply object itself, not its encoding: REST rebuilds every answer in Chatwork's shape.
    ctx_->gate.run([&] {
      net::post(executor_, [weak = channel_, id, fields = std::move(fields)]() mutable {
        if (auto c = weak.lock()) c->on_ok(id, std::move(fields));
      });
    });
  }

  void close(std::uint16_t code, std::string reason) override {
    ctx_->gate.run([&] {
      net::post(executor_, [weak = channel_, code, reason = std::move(reason)] {
        if (auto c = weak.lock()) c->on_close(code, reason);
      });
    });
  }

  void when_drained(std::size_t, std::function<void()> ready) override {
    // A REST session sends no sync; its frames are taken as they come.
    ctx_->gate.run([&] { net::post(executor_, std::move(ready)); });
  }

  std::string peer() const override { return peer_; }

 private:
  std::shared_ptr<gateway_context> ctx_;
  net::any_io_executor executor_;
  std::weak_ptr<rest_channel> channel_;
  const std::string peer_;
};

nlohmann::json made_up_error(std::string_view code, std::string_view message) {
  return {{"ok", false}, {"error", {{"code", code}, {"message", message}}}};
}

}  // namespace

std::shared_ptr<rest_channel> rest_channel::open(std::shared_ptr<gateway_context> ctx,
                                                 net::any_io_executor executor, std::string peer) {
  auto channel = std::make_shared<rest_channel>(ctx, executor);
  channel->session_ = ctx->node()->open_session(
      std::make_shared<rest_link>(ctx, executor, channel, std::move(peer)));
  return channel;
}

rest_channel::~rest_channel() {
  if (session_) session_->on_closed();
}

void rest_channel::call(nlohmann::json request, reply_fn done) {
  if (!alive_) {
    done(made_up_error("unavailable", "the session was closed"));
    return;
  }
  const auto id = next_id_++;
  request["id"] = id;
  pending_.emplace(id, std::move(done));
  session_->on_text(request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void rest_channel::on_frame(const std::string& frame) {
  // Pushes ({"ev": ...}) reach this session like any of the account's connections; REST does
  // not use them, so they are skipped before parsing (the link already drops them).
  if (!is_reply(frame)) return;
  auto j = nlohmann::json::parse(frame, nullptr, false);
  if (!j.is_object()) return;
  auto re = j.find("re");
  if (re == j.end() || !re->is_number_integer()) return;
  auto it = pending_.find(re->get<std::int64_t>());
  if (it == pending_.end()) return;
  auto done = std::move(it->second);
  pending_.erase(it);
  done(std::move(j));
}

void rest_channel::on_ok(std::int64_t id, nlohmann::json fields) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  auto done = std::move(it->second);
  pending_.erase(it);
  // The object the frame protocol::encode_ok makes would parse to: the fields, "re" and "ok".
  nlohmann::json reply = fields.is_object() ? std::move(fields) : nlohmann::json::object();
  reply["re"] = id;
  reply["ok"] = true;
  done(std::move(reply));
}

void rest_channel::on_close(std::uint16_t code, const std::string& reason) {
  alive_ = false;
  auto pending = std::move(pending_);
  pending_.clear();
  const bool policy = code == protocol::close_policy;
  for (auto& [id, done] : pending)
    done(made_up_error(policy ? "unauthenticated" : "unavailable", reason));
}

}  // namespace hibiki::gateway
