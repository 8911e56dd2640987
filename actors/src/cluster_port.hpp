#pragma once
/// The cluster port of a node: the one actor other nodes talk to (published through CAF's
/// middleman on --cluster=HOST:PORT by the node; a plain local actor in harness tests).
///
///  - remote_room_command | remote_user_command | remote_ids_command (cluster_wire.hpp): hands
///    the typed command to the local region of its kind as a `forwarded` command; answers a
///    remote_reply when the entity replies, `moved` when this node does not serve the shard.
///  - remote_push, remote_rename, remote_close, (pres_add | pres_del, node, account),
///    presence_full: for the local hub.
///  - (cstatus): this node's journal status (ctx.deps.status_json, run on the io executor).
///  - (hello, node): a peer that connected to this node names itself; the sender (its port) is
///    handed to ctx.deps.peer_greeted (the cluster glue). A hello from a local actor or with an
///    empty or overlong name is refused as bad input.
/// Bad input (an entity of another kind, account 0, a close code below 1000) is answered with
/// bad_request (or dropped, one-way) and logged; the port keeps running. A message that does not
/// deserialize never reaches the port (CAF's middleman drops it). A message of any other shape is
/// refused with a log line and answered with CAF's unexpected_message (counted as a bad input). Who
/// may send at all is settled earlier, at the TLS handshake (cluster_tls.hpp): only holders of a
/// certificate from the cluster CA.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "context.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// What the port received, for tests and metrics (written by the port only).
struct port_stats {
  std::atomic<std::uint64_t> commands{0};    ///< remote_*_command
  std::atomic<std::uint64_t> pushes{0};      ///< remote_push, remote_rename, remote_close
  std::atomic<std::uint64_t> presence{0};    ///< pres_add, pres_del, presence_full
  std::atomic<std::uint64_t> bad_inputs{0};  ///< refused as bad_request (or dropped, one-way)
};

caf::actor spawn_cluster_port(caf::actor_system& sys, std::shared_ptr<node_context> ctx,
                              std::shared_ptr<port_stats> stats = nullptr);

}  // namespace hibiki::actors
