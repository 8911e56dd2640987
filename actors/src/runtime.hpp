#pragma once
/// The actors of one node, wired together: hub, recovery gate, the three shard regions
/// (rooms, users, id allocators) and the cluster port (a plain local actor unless the node
/// publishes it). The node starts one over RocksDB and a thread pool; the
/// testkit starts one over CAF's test coordinator with deterministic io and journal.

#include <functional>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "cluster_port.hpp"
#include "context.hpp"
#include "file_sweeper.hpp"
#include "hub.hpp"
#include "region_actor.hpp"

namespace hibiki::actors {

struct runtime {
  std::shared_ptr<node_context> ctx;
  std::shared_ptr<region_stats> room_stats = std::make_shared<region_stats>();
  std::shared_ptr<region_stats> user_stats = std::make_shared<region_stats>();
  std::shared_ptr<region_stats> id_stats = std::make_shared<region_stats>();
  std::shared_ptr<gate_stats> gate = std::make_shared<gate_stats>();
  std::shared_ptr<hub_stats> hub = std::make_shared<hub_stats>();
  std::shared_ptr<port_stats> port = std::make_shared<port_stats>();
  std::shared_ptr<sweeper_stats> sweeper = std::make_shared<sweeper_stats>();
};

/// Spawns the node's actors in `sys`. Fills in `deps.now` and `deps.writer_id` when empty.
runtime start_runtime(caf::actor_system& sys, runtime_deps deps, const node_options& options);

/// Sends every long-lived actor an exit (regions pass it on to their entities). The caller then
/// awaits the actors, and finally calls `release_runtime` to break the context ↔ actor cycle.
void stop_runtime(runtime& rt);
void release_runtime(runtime& rt);

/// Signs up `name`: allocates an account id, registers the user entity with the hash of a fresh
/// token, makes the account's `my` room, and calls `done` once the account is durable (and its
/// `my` room too, unless that failed: then the account's first `me` makes it). `done` runs on an
/// actor thread or the caller's; the node moves it to the io executor.
void signup(const std::shared_ptr<node_context>& ctx, std::string name,
            std::function<void(result<signup_result>)> done);

/// Runs an operator's action on the user entity of `request.account` and calls `done` once it is
/// durable (or refused), on an actor thread or the caller's, like `signup`.
void admin(const std::shared_ptr<node_context>& ctx, admin_request request,
           std::function<void(result<admin_result>)> done);

}  // namespace hibiki::actors
