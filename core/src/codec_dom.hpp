#pragma once
/// Private to core (and its tests): the document decoders, which parse CBOR into an nlohmann JSON
/// document, run the upcasters over it and read the fields from it. The public decoders read the
/// current version straight from the bytes and use these for everything else (older versions,
/// anything unusual, every error); the tests hold the direct decoders to these as the reference.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "hibiki/core/result.hpp"
#include "hibiki/core/room.hpp"
#include "hibiki/core/user.hpp"

namespace hibiki::codec::dom {

result<room::event> decode_room_event(std::span<const std::uint8_t> data);
result<user::event> decode_user_event(std::span<const std::uint8_t> data);
result<room::state> decode_room_snapshot(std::span<const std::uint8_t> data);
result<user::state> decode_user_snapshot(std::span<const std::uint8_t> data);
result<std::string> event_type(std::span<const std::uint8_t> data);

}  // namespace hibiki::codec::dom

/// The direct decoders alone: a value, or nullopt where the public decoder falls back to dom::.
namespace hibiki::codec::direct {

std::optional<room::event> decode_room_event(std::span<const std::uint8_t> data);
std::optional<user::event> decode_user_event(std::span<const std::uint8_t> data);
std::optional<room::state> decode_room_snapshot(std::span<const std::uint8_t> data);
std::optional<user::state> decode_user_snapshot(std::span<const std::uint8_t> data);

}  // namespace hibiki::codec::direct
