#pragma once
/// Every metric a hibiki node exports, in one place, and their Prometheus text exposition.
///
/// hibikid creates one `registry` and hands it (a shared_ptr in the options structs) to the
/// backend, the node and the gateway; each layer records through the named calls below. A null
/// pointer means "metrics off" (`hibikid --metrics=false`): call sites test it and record nothing.
/// prometheus-cpp stays behind this header (no Prometheus type is public), so the layers that
/// record need not include it, and the core never sees it.
///
/// Two kinds of metric:
/// - recorded where they happen (requests, latencies, commits, connections): cheap, thread-safe
///   calls (an atomic add; a histogram takes a short mutex);
/// - collected at scrape time (breaker state, partition lag, live entities, RocksDB memory,
///   process figures): the owner of the state registers a `collector` that sets them when
///   `exposition()` runs.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "hibiki/core/errc.hpp"
#include "hibiki/core/protocol.hpp"

namespace hibiki::metrics {

/// What an HTTP request was for: the label `path` of hibiki_http_requests_total. Bounded on
/// purpose: a scanner requesting random paths must not create a series per path.
enum class http_path : std::uint8_t {
  websocket,  ///< /ws (upgrades and refusals)
  api,        ///< /api/...
  health,     ///< /healthz, /readyz
  metrics,    ///< /metrics
  file,       ///< static files and everything else
  rest,       ///< /v2/... (the REST API)
};

/// The entity kinds of hibiki_live_entities and hibiki_passivations_total.
enum class entity_kind : std::uint8_t { room, user, id_allocator };

class registry;

/// Keeps a scrape-time collector registered; unregistering waits for a collection in progress, so
/// the collector may use its owner's state until this handle is gone.
class collector_handle {
 public:
  collector_handle() = default;
  collector_handle(std::weak_ptr<registry> owner, std::uint64_t id);
  collector_handle(collector_handle&& other) noexcept;
  collector_handle& operator=(collector_handle&& other) noexcept;
  collector_handle(const collector_handle&) = delete;
  collector_handle& operator=(const collector_handle&) = delete;
  ~collector_handle();
  /// Unregisters now. Idempotent.
  void reset();

 private:
  std::weak_ptr<registry> owner_;
  std::uint64_t id_ = 0;
};

class registry : public std::enable_shared_from_this<registry> {
 public:
  /// A registry with every hibiki family created (empty until recorded). Use `create()`.
  static std::shared_ptr<registry> create();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // ---- gateway ---------------------------------------------------------------------------------
  /// hibiki_websocket_connections (gauge).
  void websocket_opened();
  void websocket_closed();
  /// hibiki_http_requests_total{path,code} (counter): one per HTTP response sent.
  void http_request(http_path path, unsigned status);
  /// hibiki_slow_clients_dropped_total (counter): connections dropped for not reading.
  void slow_client_dropped();

  /// One REST API response (hibiki_rest_requests_total{endpoint,code}). `endpoint` comes from the
  /// gateway's fixed list of endpoint names (never a raw path), so the series stay bounded.
  void rest_request(std::string_view endpoint, unsigned status);

  // ---- actors ----------------------------------------------------------------------------------
  /// hibiki_requests_total{op,result} (counter): one per reply to a WebSocket request. `result`
  /// is "ok" (errc::ok) or the error's wire code.
  void request(const protocol::request_body& op, errc result) { request(op.index(), result); }
  /// The same by op index: the alternative's index in protocol::request_body (what a session
  /// keeps while the request runs, instead of the request). Out of range counts as "invalid".
  void request(std::size_t op_index, errc result);
  /// The same for a frame that did not parse into a request: op="invalid".
  void invalid_request(errc result);
  /// hibiki_send_ack_seconds (histogram): send_message received by the session until its ok
  /// reply (the acknowledgement: the message is durable) is handed to the connection.
  void send_ack(std::chrono::steady_clock::duration elapsed);

  // ---- persistence -----------------------------------------------------------------------------
  /// hibiki_journal_commit_seconds and hibiki_journal_commit_appends (histograms): one
  /// successful group commit (RocksDB WriteBatch) or Kafka transaction, and the appends in it.
  void journal_commit(std::chrono::steady_clock::duration elapsed, std::size_t appends);

  // ---- collected at scrape time ----------------------------------------------------------------
  /// hibiki_journal_breaker_state{state} (gauge): 1 for the current state ("closed", "open",
  /// "half_open"), 0 for the others.
  void set_breaker_state(std::string_view state);
  /// hibiki_object_store_breaker_state{state} (gauge, only on a node with a file store): the
  /// file store's circuit breaker, as set_breaker_state's.
  void set_object_store_breaker_state(std::string_view state);
  /// hibiki_journal_partition_lag_records{partition} (gauge, Kafka only); -1 when unknown.
  void set_partition_lag(std::int32_t partition, std::int64_t lag);
  /// hibiki_live_entities{kind} (gauge).
  void set_live_entities(entity_kind kind, std::uint64_t n);
  /// hibiki_passivations_total{kind} (counter), from a running total kept by the region.
  void set_passivations_total(entity_kind kind, std::uint64_t total);
  /// hibiki_recoveries_total (counter, from a running total) and hibiki_recoveries_in_flight.
  void set_recoveries(std::uint64_t total, std::uint64_t in_flight);
  /// hibiki_cluster_peer_links_made_total and hibiki_cluster_peer_links_lost_total (counters,
  /// from running totals): links to peers' cluster ports made (connected, or greeted by a peer
  /// that connected) and lost (the connection dropped). Clustered nodes only.
  void set_cluster_peer_links(std::uint64_t made_total, std::uint64_t lost_total);
  /// hibiki_projection_lag_events{projection} (gauge: feed offsets not applied yet, -1 when
  /// unknown) and hibiki_projection_applied_total{projection} (counter, from the runner's running
  /// total of events applied). `name` is a projection's fixed name ("search", "webhooks").
  void set_projection(std::string_view name, std::int64_t lag, std::uint64_t applied_total);
  /// hibiki_rocksdb_memory_bytes{kind} (gauge): "memtables", "block_cache", "table_readers".
  void set_rocksdb_memory(std::string_view kind, std::uint64_t bytes);

  // ---- webhooks --------------------------------------------------------------------------------
  /// hibiki_webhook_deliveries_total{result} (counter): "ok", "failed" (to be retried),
  /// "given_up" (dropped after failing for a day).
  void webhook_delivery(std::string_view result);
  /// hibiki_webhook_pending (gauge, at scrape time): deliveries in the outbox.
  void set_webhook_pending(std::uint64_t n);
  /// hibiki_webhook_breakers_open (gauge, at scrape time): endpoints whose breaker is not closed.
  void set_webhook_breakers_open(std::uint64_t n);

  /// Registers `fn` to run at each scrape, before the text is produced. `fn` runs on the thread
  /// calling `exposition()` (the gateway's blocking worker), so it may block briefly.
  collector_handle add_collector(std::function<void(registry&)> fn);

  /// Runs the collectors, reads this process's CPU, memory and file descriptors, and returns
  /// every metric in the Prometheus text format (version 0.0.4). Thread-safe.
  std::string exposition();

  /// The Content-Type of `exposition()`.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

 private:
  friend class collector_handle;
  struct impl;
  registry();
  void remove_collector(std::uint64_t id);

  std::unique_ptr<impl> impl_;
};

}  // namespace hibiki::metrics
