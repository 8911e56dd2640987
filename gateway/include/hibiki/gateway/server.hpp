#pragma once
/// The gateway: hibiki's network edge. One listener serves HTTP (sign-up, health, the web client's
/// static files) and upgrades `GET /ws` to WebSocket connections whose text frames go to an
/// `actors::session` and whose outgoing frames come back through an `actors::client_link`.
///
/// The gateway runs its own io_context threads, separate from the actor system; every connection
/// runs on its own strand. This header has no Beast or asio types on purpose.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hibiki/actors/node.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/gateway/gateway_options.hpp"

namespace hibiki::gateway {

/// A running gateway. Owned by whoever started it (hibikid, a test); `node` must outlive it.
/// `port()` and `stop()` may be called from any one thread at a time.
class server {
 public:
  /// Binds, listens and starts the I/O threads. Errors: unavailable (cannot bind), bad_request
  /// (bad address, a bad --trusted-proxies block, only one of the TLS files, a TLS file that
  /// cannot be read or used).
  static result<std::unique_ptr<server>> start(actors::node& node, gateway_options options);

  /// Like start, but before there is a node (hibikid while the journal opens, which on Kafka can
  /// take minutes): the listeners are bound and serve /healthz (200, "starting"), /readyz (503
  /// with `starting()`'s reasons, asked on the blocking worker), /metrics and the static files;
  /// /ws and every /api/ path answer 503 with Retry-After at once. attach() then serves
  /// everything on the same listeners. `starting` may block for about a second (it may ask the
  /// broker); null means "node starting".
  static result<std::unique_ptr<server>> start_before_node(
      gateway_options options, std::function<std::vector<std::string>()> starting);

  /// Hands the gateway its node, fully started; from the next request on everything is served.
  /// Once only; `node` must outlive the server (stop() the server before the node).
  virtual void attach(actors::node& node) = 0;

  virtual ~server() = default;

  /// The port actually bound (the chosen one when the options asked for port 0).
  virtual std::uint16_t port() const = 0;
  /// The address actually bound, as text.
  virtual std::string host() const = 0;
  /// Whether POST /api/signup is open.
  virtual bool open_signup() const = 0;
  /// The port of the admin listener (gateway_options::admin_host); 0 when there is none.
  virtual std::uint16_t admin_port() const = 0;
  /// Whether the listener serves HTTPS and WSS.
  virtual bool tls() const = 0;
  /// The WebSocket origins allowed (the options' list, or the default resolved for the bound
  /// address and port).
  virtual std::vector<std::string> allowed_origins() const = 0;

  /// Reads the TLS certificate and key files again: new handshakes use them, open connections
  /// keep theirs. On error (or without TLS) nothing changes. On success the text is the new
  /// certificate's SHA-256 fingerprint. Thread-safe.
  virtual result<std::string> reload_tls() = 0;

  /// Stops accepting new connections; open ones keep being served (so replies to in-flight
  /// requests still reach their clients while the node drains). Idempotent.
  virtual void stop_accepting() = 0;

  /// Stops accepting, closes WebSockets with 1001, closes idle HTTP connections, waits a bounded
  /// time for them to finish, and joins the I/O threads. Idempotent; the destructor calls it.
  virtual void stop() = 0;
};

}  // namespace hibiki::gateway
