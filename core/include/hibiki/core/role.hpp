#pragma once
/// A member's role in a room, as in Chatwork: admins manage members, members post, read-only
/// members read.

#include <cstdint>
#include <optional>
#include <string_view>

namespace hibiki {

enum class role : std::uint8_t { admin, member, readonly };

std::string_view to_string(role r);
std::optional<role> parse_role(std::string_view text);

}  // namespace hibiki
