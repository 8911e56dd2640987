#pragma once
/// Push frames as text, written without a DOM for the frequent events (json_text.hpp).

#include <optional>
#include <string>

#include "hibiki/core/room.hpp"

namespace hibiki::read_model {

/// The push frame of read_model::push_frame as text, byte for byte its compact dump (invalid
/// UTF-8, which validated text never holds, replaced by U+FFFD rather than thrown).
/// message_created and message_updated, the frames of nearly every push, are written straight to
/// bytes without a DOM. It is also the frame's room_events row.
std::optional<std::string> push_frame_text(const room::state& before, const room::event& e,
                                           const room::state& after);
/// The same frame: no field of it comes from the state before the event.
std::optional<std::string> push_frame_text(const room::event& e, const room::state& after);

}  // namespace hibiki::read_model
