#pragma once
/// The audience of an account: every account that shares a room, a contact or a contact request
/// with it (the people who see its name), and the flow that sends a push to all of them once.
/// A rename's `account_updated` push goes this way: the pushing entity (the account's user
/// entity) knows none of it, since rooms keep their members and the lower account of a pair
/// keeps the pair (decision 0017). See docs/decisions/0023.

#include <memory>
#include <vector>

#include "context.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/read_store.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// What the read models say of `account`'s circle: its rooms, and the accounts it has as
/// contacts or that asked it to be one. Blocking (io executor).
struct circle {
  std::vector<room_id> rooms;
  std::vector<account_id> people;
};
result<circle> read_circle(persistence::read_store& reads, account_id account);

/// Sends `push` (its `audience_of` set) to that account and everyone who shares a room, a contact
/// or a contact request with it, each account once: reads the circle on the io executor (after
/// the read barrier, clustered), asks each of its rooms for its members (room entities, routed
/// like any command), then hands the push with the union as `recipients` to the hub. A room that
/// fails to answer (deleted, unreachable) is skipped; the push still goes to the others.
/// Non-blocking.
void send_to_audience(const std::shared_ptr<node_context>& ctx, push_msg push);

}  // namespace hibiki::actors
