#pragma once
/// A hibiki node: the CAF actor system with its shard regions (rooms, users) and the per-node hub,
/// over a persistence backend opened by the caller (persistence/storage.hpp), started in order
/// and stopped in reverse order from here. The node does not know which storage engine it runs
/// on: a clustered backend hands it shard control and a cluster membership (persistence
/// interfaces), and the node publishes its regions for the other nodes.
///
/// This header is what the gateway sees of the actor layer. It has no CAF types on purpose: the
/// network edge hands frames in through a `session` and gets frames out through a `client_link`,
/// and never touches an actor.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hibiki/actors/scheduler_options.hpp"
#include "hibiki/core/circuit_breaker.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/core/protocol.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/webhooks.hpp"

namespace hibiki::metrics {
class registry;
}

namespace hibiki::persistence {
class backend;
class object_store;
class projections;
class search_index;
}  // namespace hibiki::persistence

namespace hibiki::actors {

/// Request rates, per-account limits and sync sizes (hibikid's --connection-rate ...
/// --sync-max-room-bytes): one struct, so hibikid's options hold it as it is.
struct request_limits {
  // ---- per-connection rate ----
  /// Requests per second one connection may sustain. Default: 100.
  double rate_per_second = 100;
  /// Requests one connection may send at once before the rate applies. Default: 200.
  double rate_burst = 200;

  // ---- per-account limits (on top of the per-connection rate; per node) ----
  /// Requests per second all of one account's connections on this node may sustain together.
  /// Default: 200.
  double account_rate_per_second = 200;
  /// Requests one account's connections may send at once before its rate applies. Default: 400.
  double account_rate_burst = 400;
  /// Most authenticated connections of one account on this node; the next one's `auth` fails
  /// with `rate_limited` and the connection is closed with 1008. Default: 50.
  std::size_t max_connections_per_account = 50;

  // ---- sync replay (docs/protocol.md, sync) ----
  /// Most rooms one `sync` may name; more is `too_large`. Default: 1000.
  std::size_t sync_max_rooms = 1000;
  /// Most bytes of events one `sync` replays for one room; a room whose missing events are
  /// larger gets one `gap` event instead (the client reloads it with `history`). Default: 4 MiB.
  std::size_t sync_max_room_bytes = 4 * 1024 * 1024;

  bool operator==(const request_limits&) const = default;
};

struct node_options : request_limits {
  /// This node's name: shown by `hibiki cluster status` and in its logs. Default: empty = the
  /// host name.
  std::string node_id;
  /// Clustered when not empty: "HOST:PORT" where this node publishes its shard regions through
  /// CAF's middleman for the other nodes. Requires a clustered backend (one whose shards() and
  /// membership() are set), whose member name ends with "@" and this endpoint.
  std::string cluster_listen;
  /// The cluster port's mutual TLS (CAF's OpenSSL module): PEM files of this node's certificate
  /// (optionally followed by intermediates), its unencrypted private key, and the cluster CA
  /// certificate(s). A peer whose certificate does not chain to that CA is refused, in both
  /// directions. All three are required when clustered, unless cluster_insecure. Default: empty
  std::string cluster_tls_cert;
  std::string cluster_tls_key;
  std::string cluster_ca;
  /// Run the cluster port over plain TCP with no authentication at all: anyone who can connect
  /// to it can act as any user. For a closed test network only; logged loudly and shown by
  /// `hibiki cluster status`. Default: false
  bool cluster_insecure = false;
  /// How long a command waits for its shard to get a reachable owner (rebalance, node loss)
  /// before it fails with `unavailable`. Default: 15 s.
  std::chrono::milliseconds route_wait{15'000};
  /// The circuit breaker around journal writes (10 failures, 10 s call timeout, 30 s reset).
  breaker_options breaker;
  /// Snapshot an entity after this many events since its last snapshot (a large room after more:
  /// a quarter of the entries its state holds, see entity_actor.hpp). Default: 1000.
  std::uint32_t snapshot_every = 1000;
  /// Passivate an entity idle for this long. Default: 120 s.
  std::chrono::milliseconds passivate_after{120'000};
  /// Most live entities per region before the least recently used are passivated. Default: 100000.
  std::size_t max_live_entities = 100'000;
  /// Most entity recoveries running at once per node. Default: 50.
  std::size_t max_concurrent_recoveries = 50;
  /// Threads running blocking storage reads (recovery, history, list_rooms). Default: 2.
  std::size_t io_threads = 2;
  /// CAF scheduler worker threads. Default: 0 = number of cores.
  std::size_t actor_threads = 0;
  /// CAF's scheduling policy, throughput and idle polling (scheduler_options.hpp). Default: CAF's.
  scheduler_options scheduler;
  /// Bytes of events a sync reads and sends at a time (at least one event); the next batch is
  /// read once the connection's unsent output is at most this. Keep it well under the gateway's
  /// `max_outgoing_bytes`. Default: 256 KiB.
  std::size_t sync_batch_bytes = 256 * 1024;
  /// Where requests, send→ack latency, entities, recoveries, breaker state and partition lag are
  /// reported (metrics/README.md); handed on to the backend. Default: null = not recorded.
  std::shared_ptr<metrics::registry> metrics;

  // ---- shared files (docs/protocol.md, "Files") ----
  /// Where the bytes of shared files live (an S3 bucket or the gateway's directory store); the
  /// node signs URLs for it and checks objects, behind a breaker with the journal's settings.
  /// Default: null = the file ops answer `unavailable`.
  std::shared_ptr<persistence::object_store> objects;
  /// The largest file a member may upload, in bytes. Default: 100 MiB.
  std::uint64_t max_file_size = 100ull * 1024 * 1024;
  /// How long a requested upload (and its pre-signed PUT URL) lasts before it can no longer be
  /// completed and its object is removed. Default: 900 s (15 min).
  std::chrono::seconds upload_window{900};
  /// How many uploads one account may have pending in one room; one more is `rate_limited`.
  /// Default: 100.
  std::uint32_t max_pending_uploads = 100;
  // ---- search (docs/protocol.md, "search") ----
  /// The full-text index (opened by the caller, e.g. in --data-dir/search): the node keeps it up
  /// to date as a projection of the event feed and answers `search` from it. Default: null =
  /// `search` answers `unavailable`.
  std::shared_ptr<persistence::search_index> search;

  /// How often the sweeper looks for expired uploads and hidden files whose objects it removes.
  /// Default: 60 s.
  std::chrono::seconds file_sweep_interval{60};
  /// How long a hidden file's object (its message or room was deleted) stays in the store before
  /// the sweeper removes it. Default: 24 h.
  std::chrono::seconds file_grace{24 * 3600};

  // ---- webhooks (docs/operations.md, "Webhooks") ----
  /// The outbox's directory, the SSRF switch, timeouts, retries and the breaker of webhook
  /// deliveries. Default: path empty = webhooks off (the webhook ops answer `unavailable`).
  persistence::webhook_options webhooks;
};

/// Where a session's outgoing frames go: implemented by the gateway's WebSocket connection.
/// Both calls are thread-safe and must not block (they queue onto the connection's strand).
class client_link {
 public:
  virtual ~client_link() = default;
  /// Queues one text frame. The bytes are shared: a push to many clients is encoded once.
  virtual void send(std::shared_ptr<const std::string> frame) = 0;
  /// Queues the successful reply to request `id` with its `fields` (an object, or null for none).
  /// Default: sends it as the frame `{...fields,"re":id,"ok":true}` (protocol::encode_ok). A
  /// client in the same process (the REST API) takes the object as it is instead: encoding a
  /// large reply (100 messages) only for the client to parse it again was a third of its cost.
  /// (Inline: the gateway's tests link the gateway without the actors library.)
  virtual void send_ok(std::int64_t id, nlohmann::json fields) {
    send(std::make_shared<const std::string>(protocol::encode_ok(id, fields)));
  }
  /// Closes the connection with a WebSocket close code (1008, 1009, 1003, 1001...).
  virtual void close(std::uint16_t code, std::string reason) = 0;
  /// Calls `ready` once the connection's unsent output (frames queued and bytes not yet handed
  /// to the socket) is at most `below_bytes`, at once if it already is. A producer of many
  /// frames (a `sync` replay) paces itself with it by the client's reading, instead of filling
  /// the outgoing cap and getting a reading client dropped. `ready` runs at most once, on a
  /// thread of the link's choosing, and must not block; it never runs if the connection closes
  /// first (the session learns that from `session::on_closed`).
  virtual void when_drained(std::size_t below_bytes, std::function<void()> ready) = 0;
  /// The client's address ("IP:PORT"), for the audit log. Default: empty (unknown).
  virtual std::string peer() const { return {}; }
  /// The session authenticated as `account`, so the connection's access record can name it.
  /// Thread-safe, non-blocking. Default: nothing.
  virtual void authenticated(account_id) {}
  /// True for the REST API's in-process link: it streams a multipart upload's bytes to the object
  /// store itself, so request_upload's reply also carries the upload's `object_key` for it
  /// (never for a WebSocket client, whose reply is exactly the protocol's). Default: false.
  virtual bool stores_uploads() const { return false; }
};

/// One client connection's session on the actor side. Thread-safe: the gateway calls it from its
/// own threads; each call only enqueues a message to the session actor.
class session {
 public:
  virtual ~session() = default;
  /// A text frame from the client (one request).
  virtual void on_text(std::string frame) = 0;
  /// The connection is gone; the session actor stops and unregisters from the hub.
  virtual void on_closed() = 0;
};

struct signup_result {
  account_id account;
  std::string name;
  std::string token;  ///< shown once; only its hash is stored
};

/// Checks how the cluster port's security options fit together, without reading any file: when
/// clustered, either all three TLS files or cluster_insecure, never both; when not clustered,
/// none of them. Errors: bad_request, naming the hibikid flags. (Inline: hibikid's option parser
/// uses it without linking the actor layer.)
inline status check_cluster_security_options(const node_options& o) {
  const bool clustered = !o.cluster_listen.empty();
  const bool any_tls =
      !o.cluster_tls_cert.empty() || !o.cluster_tls_key.empty() || !o.cluster_ca.empty();
  if (!clustered) {
    if (!any_tls && !o.cluster_insecure) return {};
    return hibiki::error{errc::bad_request,
                         "--cluster-tls-cert, --cluster-tls-key, --cluster-ca and "
                         "--cluster-insecure only apply to a clustered node (--cluster)"};
  }
  if (o.cluster_insecure) {
    if (!any_tls) return {};
    return hibiki::error{errc::bad_request,
                         "--cluster-insecure contradicts --cluster-tls-cert, --cluster-tls-key "
                         "and --cluster-ca: give either the certificates or --cluster-insecure"};
  }
  if (!any_tls) {
    return hibiki::error{errc::bad_request,
                         "--cluster needs --cluster-tls-cert, --cluster-tls-key and --cluster-ca "
                         "(the cluster port runs over mutual TLS; scripts/cluster shows how to "
                         "make a CA and node certificates with openssl), or --cluster-insecure to "
                         "run it unauthenticated on a closed test network"};
  }
  std::string missing;
  for (auto [flag, value] : {std::pair{"--cluster-tls-cert", &o.cluster_tls_cert},
                             std::pair{"--cluster-tls-key", &o.cluster_tls_key},
                             std::pair{"--cluster-ca", &o.cluster_ca}})
    if (value->empty()) missing += (missing.empty() ? "" : ", ") + std::string(flag);
  if (missing.empty()) return {};
  return hibiki::error{errc::bad_request,
                       "--cluster-tls-cert, --cluster-tls-key and --cluster-ca go together: "
                       "missing " +
                           missing};
}

/// The same, then reads and checks the TLS files: readable, PEM, the key matching the
/// certificate, the certificate signed by the CA and usable as TLS client and server (details:
/// docs/operations.md, "Cluster certificates"). node::start does the same before it opens
/// anything. Returns the warnings worth a log line (a key file others can read). Errors:
/// bad_request, naming the flag and the file.
result<std::vector<std::string>> check_cluster_security(const node_options& options);
/// What an operator may do to an account (`hibiki admin ...`, POST /api/admin/...).
enum class admin_action : std::uint8_t {
  disable_account,  ///< it can no longer authenticate; its live connections are closed (1008)
  enable_account,   ///< undoes disable_account (its token works again unless revoked)
  revoke_tokens,    ///< its token stops working; its live connections are closed (1008)
  issue_token,      ///< a new token (shown once); the previous one stops working
  rename_account,   ///< a new display name (`name`)
};

struct admin_request {
  admin_action action = admin_action::disable_account;
  account_id account;
  std::string name;  ///< rename_account only
};

/// The account after the action.
struct admin_result {
  account_id account;
  std::string name;
  bool disabled = false;
  std::string token;  ///< issue_token only: shown once; only its hash is stored
};

class node {
 public:
  /// Starts the actor system over `backend`, which the node owns from now on (it closes it in
  /// stop(), and on a failed start). Clustered (options.cluster_listen set): publishes the
  /// cluster port and joins the backend's membership. Errors: bad_request (no backend, a cluster
  /// endpoint without a clustered backend or the reverse), unavailable (the cluster port cannot
  /// be bound, the membership cannot be joined).
  static result<std::unique_ptr<node>> start(std::unique_ptr<persistence::backend> backend,
                                             const node_options& options);
  virtual ~node() = default;

  /// A new session whose outgoing frames go to `link`.
  virtual std::unique_ptr<session> open_session(std::shared_ptr<client_link> link) = 0;

  /// Registers an account. `done` runs once, on a thread that is not the caller's, after the
  /// account is durable. Errors: bad_request (invalid name), unavailable.
  virtual void signup(std::string name, std::function<void(result<signup_result>)> done) = 0;

  /// An operator's action on an existing account, durable before `done` runs (once, on a thread
  /// that is not the caller's). Errors: not_found (no such account), bad_request (invalid name),
  /// unavailable.
  virtual void admin(admin_request request, std::function<void(result<admin_result>)> done) = 0;

  /// True while the node can serve (storage open, not stopping).
  virtual bool healthy() const = 0;

  /// The journal's status for operators (`hibiki journal status`): kind, topic, owned partitions
  /// with indexed offset, end offset and lag, append counters, breaker state. Shape documented in
  /// docs/operations.md. May ask the broker; bounded by ~1 s.
  virtual nlohmann::json journal_status() = 0;

  /// The cluster as this node sees it (`hibiki cluster status`): this node, the group's nodes
  /// with their endpoints and shards, and each reachable node's own partition states and lag.
  /// Shape documented in docs/operations.md. Bounded by ~3 s. A node that is not clustered
  /// reports itself as the only node, owning every shard.
  virtual nlohmann::json cluster_status() = 0;

  /// The file store the node signs for and checks, behind the node's object-store circuit
  /// breaker; null when files are off. Whoever else does I/O on the store (the REST upload's
  /// streamed put) goes through this one, so its failures open the same breaker. The default
  /// (null) is for test doubles of this interface.
  virtual std::shared_ptr<persistence::object_store> objects() { return nullptr; }

  /// The read-side projections this node runs over its backend's feed
  /// (hibiki/persistence/projections.hpp). Add one after start:
  ///
  ///     node->projections()->add(std::make_unique<search_projection>(...));
  ///     // webhooks: only the partitions this node owns (a clustered node's serving shards)
  ///     node->projections()->add(std::move(hooks), persistence::follow::owned_partitions);
  ///
  /// Each runs in its own thread with the node's metrics; stop() stops them first, before the
  /// backend closes. Never null for a node from node::start; the default (null) is for test
  /// doubles of this interface.
  virtual persistence::projections* projections() { return nullptr; }

  /// Every projection's status (`hibiki admin projections`, GET /api/projections), shape in
  /// docs/operations.md ("Projections"): {"projections": [{"name", "state", "lag", ...}]}.
  virtual nlohmann::json projections_status() {
    return nlohmann::json{{"projections", nlohmann::json::array()}};
  }

  /// Starts rebuilding projection `name` from the beginning of the feed (`hibiki admin rebuild`);
  /// progress shows in projections_status(). Errors: not_found (no such projection; the message
  /// names those there are), unavailable (stopping).
  virtual hibiki::status rebuild_projection(const std::string& name) {
    return hibiki::error{errc::not_found, "no projection named " + name + " (this node runs none)"};
  }

  /// Stops accepting work, lets in-flight writes finish and their replies go out, passivates
  /// entities, closes storage. Idempotent; the destructor calls it.
  virtual void stop() = 0;
};

}  // namespace hibiki::actors
