#pragma once
/// The session actor of one client connection: parses its frames, enforces auth and the rate
/// limit, routes commands to room entities and queries to the io executor, and writes replies to
/// the connection's client_link. After auth it is registered with the hub, which delivers the
/// pushes of the account's rooms to the link directly.

#include <memory>

#include <caf/all.hpp>

#include "context.hpp"

namespace hibiki::actors {

/// Spawns the session actor for connection `session_id`, writing to `link`. It stops on
/// `closed_atom` (or an exit message at node shutdown).
caf::actor spawn_session(caf::actor_system& sys, std::shared_ptr<node_context> ctx,
                         std::shared_ptr<client_link> link, std::uint64_t session_id);

}  // namespace hibiki::actors
