#pragma once
/// The cluster port of a node: the one actor other nodes talk to (published through CAF's
/// middleman on --cluster=HOST:PORT by the node; a plain local actor in harness tests).
///
///  - (rcmd, kind, entity, command_json, origin_node, origin_session): decodes the command and
///    hands it to the local region of `kind` as a `forwarded` command; answers (reply_json) when
///    the entity replies, `moved` when this node does not serve the shard.
///  - (rpush, ...), (rrename, ...), (rclose, ...), (pres_add | pres_del | pres_full, ...): for
///    the local hub.
///  - (cstatus): this node's journal status (ctx.deps.status_json, run on the io executor).
///  - (hello, node): a peer that connected to this node names itself; the sender (its port) is
///    handed to ctx.deps.peer_greeted (the cluster glue). A hello from a local actor or with an
///    empty or overlong name is refused as bad input.
/// Bad input (undecodable JSON, unknown kind) is answered with bad_request and logged; the port
/// keeps running. A message of any other shape is refused with a log line and answered with
/// CAF's unexpected_message (counted as a bad input). Who may send at all is settled earlier,
/// at the TLS handshake (cluster_tls.hpp): only holders of a certificate from the cluster CA.

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
  std::atomic<std::uint64_t> commands{0};    ///< rcmd
  std::atomic<std::uint64_t> pushes{0};      ///< rpush, rrename, rclose
  std::atomic<std::uint64_t> presence{0};    ///< pres_add, pres_del, pres_full
  std::atomic<std::uint64_t> bad_inputs{0};  ///< refused as bad_request (or dropped, one-way)
};

caf::actor spawn_cluster_port(caf::actor_system& sys, std::shared_ptr<node_context> ctx,
                              std::shared_ptr<port_stats> stats = nullptr);

/// The JSON text of a reply as it crosses nodes, and back. A reply that does not decode becomes
/// an `internal` error reply.
std::string encode_reply(const command_reply& r);
command_reply decode_reply(const std::string& text);

}  // namespace hibiki::actors
