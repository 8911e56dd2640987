#pragma once
/// The per-node hub and the recovery gate: two small actors every entity talks to.
///
/// The hub maps each account to its connections on this node. An entity encodes a room event's
/// push once and sends it here with its recipients; the hub hands the same shared bytes to every
/// connection of every recipient. Because one entity's pushes reach the hub in order and the hub
/// forwards them in order, each connection sees a room's events in seq order.
///
/// The gate hands out at most `max_concurrent_recoveries` recovery permits; entities queue for
/// one, so a burst of activations does not flood the io executor with replays.

#include <cstddef>
#include <memory>

#include <atomic>

#include <caf/all.hpp>

namespace hibiki::actors {

/// Counters of the gate, for tests and metrics (written by the gate only).
struct gate_stats {
  std::atomic<std::size_t> running{0};
  std::atomic<std::size_t> waiting{0};
  std::atomic<std::size_t> peak{0};
};

caf::actor spawn_hub(caf::actor_system& sys);
caf::actor spawn_recovery_gate(caf::actor_system& sys, std::size_t max_running,
                               std::shared_ptr<gate_stats> stats);

}  // namespace hibiki::actors
