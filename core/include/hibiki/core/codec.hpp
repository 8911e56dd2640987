#pragma once
/// Versioned binary encoding of events and snapshots (CBOR through nlohmann/json). Every encoded
/// event is a map with its type name "t", its schema version "v" and its fields. Decoding runs the
/// registered upcasters first, so an event written by an older hibiki is read as the current
/// version without the rules ever seeing the old shape.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hibiki/core/result.hpp"
#include "hibiki/core/room.hpp"
#include "hibiki/core/user.hpp"

namespace hibiki::codec {

using bytes = std::vector<std::uint8_t>;

bytes encode(const room::event& e);
bytes encode(const user::event& e);
result<room::event> decode_room_event(std::span<const std::uint8_t> data);
result<user::event> decode_user_event(std::span<const std::uint8_t> data);

bytes encode_snapshot(const room::state& s);
bytes encode_snapshot(const user::state& s);
result<room::state> decode_room_snapshot(std::span<const std::uint8_t> data);
result<user::state> decode_user_snapshot(std::span<const std::uint8_t> data);

/// The type name an encoded event carries ("room.message_posted", ...), without decoding it fully.
result<std::string> event_type(std::span<const std::uint8_t> data);

/// Turns the JSON of event `type` at version `from_version` into version `from_version + 1`.
using upcaster = std::function<void(nlohmann::json& fields)>;

/// Registers an upcaster; decoding applies the chain from an event's version to the current one.
/// Thread-safe to call before decoding starts (at start-up); not while decoding.
void register_upcaster(const std::string& type, int from_version, upcaster fn);

/// The version that `encode` writes for `type` (1 unless the schema moved on).
int current_version(const std::string& type);

}  // namespace hibiki::codec
