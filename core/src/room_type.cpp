/// Room types on the wire and in the journal ("group", "my", "direct"), and icon presets.

#include <algorithm>
#include <array>

#include "hibiki/core/room.hpp"

namespace hibiki::room {

std::string_view to_string(room_type t) {
  switch (t) {
    case room_type::group:
      return "group";
    case room_type::my:
      return "my";
    case room_type::direct:
      return "direct";
  }
  return "group";
}

std::optional<room_type> parse_room_type(std::string_view text) {
  if (text == "group") return room_type::group;
  if (text == "my") return room_type::my;
  if (text == "direct") return room_type::direct;
  return std::nullopt;
}

bool is_icon_preset(std::string_view name) {
  static constexpr std::array<std::string_view, 17> presets = {
      "group", "check", "document", "meeting", "event", "project", "business", "study", "security",
      "star",  "idea",  "heart",    "magcup",  "beer",  "music",   "sports",   "travel"};
  return std::find(presets.begin(), presets.end(), name) != presets.end();
}

}  // namespace hibiki::room
