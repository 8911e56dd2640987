#pragma once
/// How a REST request reaches the actors: exactly like a WebSocket client. A keep-alive HTTP
/// connection that calls /v2 opens one actors::session (node.hpp) and speaks ws-protocol-v1
/// frames to it: `auth` with the request's X-ChatWorkToken, then the ops the endpoint needs. So
/// a REST call is routed, authorized, rate-limited per account and replicated in a cluster by
/// the same code as a WebSocket command, on any node. The session stays authenticated across
/// the connection's requests while they carry the same token; a disabled account or a revoked
/// token closes it from the node's side (as it closes WebSockets), and the next request
/// authenticates again and gets 401.
///
/// Everything runs on the HTTP connection's strand: the link posts frames back onto it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "beast_fwd.hpp"
#include "gateway_context.hpp"

namespace hibiki::gateway {

class rest_channel : public std::enable_shared_from_this<rest_channel> {
 public:
  /// A reply: `{"re":N,"ok":true,...}` or `{"ok":false,"error":{"code","message"}}` (also made up
  /// here when the session closes before answering: code `unavailable`, or `unauthenticated`
  /// when the node closed it with 1008).
  using reply_fn = std::function<void(nlohmann::json reply)>;

  /// `executor` is the connection's strand; `peer` goes to the audit log of `auth`. The context
  /// must have its node (checked by the caller: a starting server answers 503 first).
  static std::shared_ptr<rest_channel> open(std::shared_ptr<gateway_context> ctx,
                                            net::any_io_executor executor, std::string peer);
  ~rest_channel();

  /// Sends one request (an object without "id"; one is added). `done` runs once, on the strand.
  void call(nlohmann::json request, reply_fn done);

  /// The token this session authenticated with (empty: not yet).
  const std::string& token() const { return token_; }
  void set_token(std::string token) { token_ = std::move(token); }
  /// False once the node closed the session (revoked token, disabled account, stopping).
  bool alive() const { return alive_; }

  /// False for a frame that cannot be a reply (a push): a reply is the only frame with "re".
  static bool is_reply(std::string_view frame) {
    return frame.find("\"re\":") != std::string_view::npos;
  }

  // From the link, on the strand.
  void on_frame(const std::string& frame);
  /// A successful reply handed over as an object (client_link::send_ok).
  void on_ok(std::int64_t id, nlohmann::json fields);
  void on_close(std::uint16_t code, const std::string& reason);

  rest_channel(std::shared_ptr<gateway_context> ctx, net::any_io_executor executor)
      : ctx_(std::move(ctx)), executor_(std::move(executor)) {}

 private:
  std::shared_ptr<gateway_context> ctx_;
  net::any_io_executor executor_;
  std::unique_ptr<actors::session> session_;
  std::unordered_map<std::int64_t, reply_fn> pending_;
  std::int64_t next_id_ = 1;
  std::string token_;
  bool alive_ = true;
};

}  // namespace hibiki::gateway
