#pragma once
/// What every actor of one node shares: the storage it talks to, the io executor, the options,
/// and the handles of the node's long-lived actors. Built once at start-up by `spawn_runtime`
/// (runtime.hpp) and read-only afterwards, except the two atomics.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <caf/all.hpp>

#include "account_limits.hpp"
#include "hibiki/actors/node.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/persistence/journal.hpp"
#include "hibiki/persistence/object_store.hpp"
#include "hibiki/persistence/read_store.hpp"
#include "hibiki/persistence/shard_control.hpp"
#include "hibiki/persistence/snapshot_store.hpp"
#include "hibiki/persistence/webhooks.hpp"
#include "io_executor.hpp"
#include "shard_table.hpp"

namespace hibiki::actors {

/// The storage and scheduling a runtime runs on; the node passes RocksDB and a thread pool, the
/// testkit wrapped, deterministic versions of them.
struct runtime_deps {
  persistence::journal* journal = nullptr;
  persistence::snapshot_store* snapshots = nullptr;
  persistence::read_store* reads = nullptr;
  io_executor* io = nullptr;
  /// Wall-clock Unix seconds for event timestamps. Default: the system clock.
  std::function<unix_time()> now;
  /// The clock of the object store's circuit breaker. Default: std::chrono::steady_clock.
  std::function<circuit_breaker::time_point()> object_breaker_now;
  /// This incarnation's writer id, recorded in every event. Default: random.
  std::string writer_id;
  /// Shard ownership of a clustered backend, for read barriers (await_indexed); null otherwise.
  persistence::shard_control* shard_control = nullptr;
  /// Where this node's shards live. Default: a single node owning one shard.
  std::shared_ptr<shard_table> shards;
  /// Asks the cluster glue to look up the owners again (after `moved`, an unreachable owner).
  /// Must not block. Default: nothing.
  std::function<void()> refresh_owners;
  /// This node's journal status as JSON text, for a peer's `cstatus`. Blocking (io thread).
  std::function<std::string()> status_json;
  /// The cluster port heard a peer's hello: (its node name, its port). Set by the cluster glue
  /// before the port is published and never changed after. Must not block. Default: nothing.
  std::function<void(const std::string&, caf::strong_actor_ptr)> peer_greeted;
  /// This node's webhook outbox and delivery worker (persistence/webhooks.hpp); null when
  /// webhooks are off (the webhook ops answer `unavailable`).
  std::shared_ptr<persistence::webhook_service> webhooks;
};

struct node_context {
  runtime_deps deps;
  node_options options;

  caf::actor hub;
  caf::actor gate;
  caf::actor rooms;
  caf::actor users;
  caf::actor ids;
  /// The cluster port: what other nodes send commands, pushes and presence to (cluster_port.hpp).
  caf::actor port;
  /// options.objects behind a circuit breaker (breaker_object_store.hpp); null when no store.
  std::shared_ptr<persistence::object_store> objects;
  /// The file sweeper (file_sweeper.hpp); null when there is no object store.
  caf::actor sweeper;
  /// Per-account request rate and connection cap, shared by every session of this node.
  std::shared_ptr<account_limits> accounts;

  /// Set by node::stop; sessions then refuse writes with `unavailable`.
  std::atomic<bool> stopping{false};
  /// Appends submitted whose replies have not gone out yet; node::stop waits for zero.
  std::atomic<std::int64_t> inflight{0};
  std::atomic<std::uint64_t> next_session{1};

  unix_time now() const { return deps.now(); }
};

/// Entity ids of the id allocators: their journal seq is the id they hand out.
inline const entity_id account_ids_entity = "ids-account";
inline const entity_id room_ids_entity = "ids-room";

}  // namespace hibiki::actors
