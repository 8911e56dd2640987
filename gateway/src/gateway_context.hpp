#pragma once
/// What every connection of one gateway shares: the node, the options, the registry, the post
/// gate and the worker for blocking node calls. Owned through shared_ptr by the server and by each
/// connection, so it outlives both.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "admission.hpp"
#include "blocking_worker.hpp"
#include "client_address.hpp"
#include "connection_registry.hpp"
#include "hibiki/actors/node.hpp"
#include "hibiki/gateway/gateway_options.hpp"
#include "hibiki/persistence/directory_store.hpp"
#include "rest_rate_limit.hpp"
#include "tls_credentials.hpp"

namespace hibiki::gateway {

/// Connections over a cap that may be answered 503/429 at the same time; past this they are
/// closed at once (answering costs a read, and a TLS handshake on a TLS listener).
inline constexpr std::size_t max_refusing_connections = 64;

struct gateway_context {
  gateway_context(actors::node* n, gateway_options o)
      : options(std::move(o)),
        limits(options.max_connections, options.max_connections_per_ip, max_refusing_connections),
        signups(options.signup_per_ip, options.signup_period),
        api_rate(options.api_rate, options.api_rate_period),
        files(std::dynamic_pointer_cast<persistence::directory_store>(options.objects)),
        node_(n) {}

  /// The node, or null while it starts (server::start_before_node): then only health, /readyz,
  /// /metrics and the static files are served. Set once, by server::attach, to a node that is
  /// fully started; never unset while the gateway runs.
  actors::node* node() const { return node_.load(std::memory_order_acquire); }
  void attach(actors::node& n) { node_.store(&n, std::memory_order_release); }
  /// While there is no node: why this server is not ready yet (the /readyz reasons).
  std::function<std::vector<std::string>()> starting;

  gateway_options options;  ///< web_root resolved, allowed_origins resolved
  bool open_signup = false;
  connection_registry registry;
  post_gate gate;
  /// Runs node calls that may block (journal_status). Stopped by the server after its I/O threads.
  blocking_worker worker;
  /// Streams the REST API's uploads from their spool to the object store (a blocking put), so an
  /// upload never holds an I/O thread or the worker above. At most 64 wait (each a spool file of at
  /// most 5 MiB on disk, none in memory); more are refused 503.
  blocking_worker uploads{64};
  /// Connection caps (total, per client address).
  connection_limits limits;
  /// Sign-ups per client address.
  rate_limiter_by_key signups;
  /// Requests per REST API token (rest_rate_limit.hpp).
  rest_rate_limit api_rate;
  /// options.trusted_proxies, parsed.
  std::vector<cidr_block> trusted_proxies;
  /// options.objects when it is the directory store: its URLs (/files/...) are served here.
  std::shared_ptr<persistence::directory_store> files;
  /// Set when the listener serves TLS.
  std::shared_ptr<tls_credentials> tls;

 private:
  std::atomic<actors::node*> node_;
};

}  // namespace hibiki::gateway
