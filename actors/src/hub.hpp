#pragma once
/// The per-node hub and the recovery gate: two small actors every entity talks to.
///
/// The hub maps each account to its connections on this node. An entity encodes a room event's
/// push once and sends it here with its recipients; the hub hands the same shared bytes to every
/// connection of every recipient. Because one entity's pushes reach the hub in order and the hub
/// forwards them in order, each connection sees a room's events in seq order.
///
/// It also keeps each connection's session actor: a rename's push (`push_msg::renamed`) is handed
/// to the renamed account's sessions too (`renamed_atom`), so the messages they send carry the
/// new name; between nodes such a push travels as `rrename` instead of `rpush`.
///
/// Clustered, the hub also knows which accounts have connections on each peer node (presence:
/// it tells every peer's cluster port when an account gets its first or loses its last local
/// connection, and sends its whole list to a peer it meets), and sends each push ONCE to every
/// peer node with a connection of a recipient, whose hub delivers it locally. Peers come from the
/// shard table on each `shards_atom`; one gone from it is forgotten.
///
/// The gate hands out at most `max_concurrent_recoveries` recovery permits; entities queue for
/// one, so a burst of activations does not flood the io executor with replays.

#include <cstddef>
#include <memory>

#include <atomic>

#include <caf/all.hpp>

#include "shard_table.hpp"

namespace hibiki::actors {

/// Counters of the gate, for tests and metrics (written by the gate only).
struct gate_stats {
  std::atomic<std::size_t> running{0};
  std::atomic<std::size_t> waiting{0};
  std::atomic<std::size_t> peak{0};
  std::atomic<std::uint64_t> total{0};  ///< recoveries asked for since start
};

/// Counters of the hub, for tests and metrics (written by the hub only).
struct hub_stats {
  std::atomic<std::uint64_t> remote_pushes{0};  ///< rpush messages sent to peers
};

/// `shards` null or single: a hub for one node, without presence or remote fan-out.
caf::actor spawn_hub(caf::actor_system& sys, std::shared_ptr<shard_table> shards = nullptr,
                     std::shared_ptr<hub_stats> stats = nullptr);
caf::actor spawn_recovery_gate(caf::actor_system& sys, std::size_t max_running,
                               std::shared_ptr<gate_stats> stats);

}  // namespace hibiki::actors
