#pragma once
/// The glue between Kafka's view of the cluster and this node's actors. It
///  - publishes the node's cluster port through CAF's middleman on --cluster=HOST:PORT: over
///    mutual TLS (CAF's OpenSSL module, loaded by the node) when `tls` is set, and connects to
///    peers the same way; over plain TCP only with --cluster-insecure, which it logs at start
///    and every hour;
///  - joins the cluster through the backend's persistence::membership (member name
///    "<node>@<HOST:PORT>"), and turns assignments into shard ownership: assigned → acquiring +
///    shard_control::acquire; revoked or lost → none + release (entities stop at once);
///  - hears the backend's shard changes (serving, released, fenced) and updates the table;
///  - keeps the owner map: describe() (who owns which shard, and where to reach it) after every
///    change, on refresh_owners (a `moved` reply) and every 2 s; connects to the peers whose
///    name sorts after its own through the middleman and says hello to them, takes the others'
///    ports from their hello (only one of two nodes connects: CAF 0.17.6 handles a pair of
///    nodes connected both ways badly, decisions/0009), and monitors them all, so a lost peer is
///    not used until Kafka says otherwise.
/// Every table change is followed by notify_shards_changed.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "cluster_tls.hpp"
#include "context.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/membership.hpp"
#include "hibiki/persistence/shard_control.hpp"

namespace hibiki::actors {

/// How often this node's links to peers' cluster ports were made and lost since it started
/// (`/api/cluster` "peer_links", the metrics hibiki_cluster_peer_links_made_total and
/// hibiki_cluster_peer_links_lost_total).
struct peer_link_stats {
  /// A peer's port became usable: this node connected to it, or it connected here and said hello.
  std::atomic<std::uint64_t> made{0};
  /// The connection to a usable peer's port dropped.
  std::atomic<std::uint64_t> lost{0};
};

struct cluster_glue_options {
  std::string node;    ///< this node's name
  std::string listen;  ///< HOST:PORT of the cluster port
  /// The cluster port's TLS material; null = --cluster-insecure (plain TCP, no authentication).
  /// With it, the node's actor system must have caf::openssl::manager loaded with these files.
  std::shared_ptr<const cluster_tls> tls;
  /// Where the link counts go. Default: null (the glue keeps its own).
  std::shared_ptr<peer_link_stats> links;
};

class cluster_glue {
 public:
  /// Publishes the port and joins the group. Errors: bad_request (listen address), unavailable
  /// (the port cannot be bound, the group cannot be joined).
  static result<std::unique_ptr<cluster_glue>> start(caf::actor_system& sys,
                                                     std::shared_ptr<node_context> ctx,
                                                     persistence::shard_control& shards,
                                                     persistence::membership& membership,
                                                     cluster_glue_options options);
  ~cluster_glue();

  /// Looks up the owners again soon. Thread-safe, never blocks.
  void refresh();

  /// node::cluster_status() (the JSON shape is in docs/operations.md). `self_journal` is this
  /// node's journal status. Blocking, bounded by ~3 s.
  nlohmann::json status(nlohmann::json self_journal);

  /// Leaves the group (shards are handed back at once and released here), stops the describe
  /// thread and the peer watcher. Idempotent. Call before the runtime stops.
  void stop();

  struct impl;

 private:
  explicit cluster_glue(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Splits "HOST:PORT". Errors: bad_request.
result<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& text);

}  // namespace hibiki::actors
