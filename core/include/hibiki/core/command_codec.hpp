#pragma once
/// Room and user commands as JSON text, for the cluster: a node that does not own a room's (or
/// user's) shard forwards the command to the owner as this text. Decoding is strict: the text
/// must be one JSON object with a known type "t" and exactly the fields of that command, each of
/// its type; anything else is bad_request, so a peer speaking another version is refused rather
/// than misread.
///
/// Shape: {"t": "room.send_message", "actor": 7, "body": "hi", "client_msg_id": "", "now": 1}.
/// Ids are JSON numbers (message ids too: this is not the client protocol).

#include <string>
#include <string_view>

#include "hibiki/core/result.hpp"
#include "hibiki/core/room.hpp"
#include "hibiki/core/user.hpp"

namespace hibiki::codec {

std::string encode_command(const room::command& cmd);
std::string encode_command(const user::command& cmd);

/// Errors: bad_request (not JSON, not an object, unknown "t", missing, extra or mistyped field).
result<room::command> decode_room_command(std::string_view text);
result<user::command> decode_user_command(std::string_view text);

}  // namespace hibiki::codec
