#pragma once
/// The people flows that span entities: an account's `my` room and a pair's direct room. Each
/// room id is decided once by the entity that owns the rule (the account's user entity for its
/// `my` room, the pair's owner for the direct room: see user.hpp), from a fresh id of the room id
/// allocator; then the room is created. Creating it again is harmless (the room answers
/// `conflict`, read here as "already there"), so a flow cut short by a crash is completed by the
/// next one: `me` for a `my` room, accepting again for a direct room.

#include <functional>
#include <memory>

#include "context.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// Makes sure `account` has its `my` room and that the room exists; `done` gets the `me` fields
/// of the account (its profile with `room_id`). Non-blocking; `done` runs on an entity's thread.
void ensure_my_room(const std::shared_ptr<node_context>& ctx, account_id account,
                    std::function<void(command_reply)> done);

/// Creates the direct room `room` of the pair {requester, accepter} unless it exists; `done`
/// gets ok or the room's error. Non-blocking.
void ensure_direct_room(const std::shared_ptr<node_context>& ctx, account_id requester,
                        account_id accepter, room_id room, std::function<void(command_reply)> done);

}  // namespace hibiki::actors
