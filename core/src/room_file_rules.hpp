#pragma once
/// Private to core: the rules and state changes of a room's shared files (room_file.hpp), called
/// from room::decide and room::apply.

#include <string_view>
#include <vector>

#include "hibiki/core/room.hpp"

namespace hibiki::room::detail {

/// Mentions that can notify someone: current members other than the author (room_decide.cpp).
std::vector<account_id> member_mentions(const state& s, std::string_view body, account_id author);

result<decision> decide_request_upload(const state& s, const member_state& actor,
                                       const request_upload& c);
result<decision> decide_check_upload(const state& s, const member_state& actor,
                                     const check_upload& c);
result<decision> decide_complete_upload(const state& s, const member_state& actor,
                                        const complete_upload& c);
/// The sweeper's commands: no actor, and they work in a deleted room too.
result<decision> decide_retire_file(const state& s, const retire_file& c);
result<decision> decide_forget_file(const state& s, const forget_file& c);

void apply_file(state& s, const upload_requested& e);
void apply_file(state& s, const file_uploaded& e);
void apply_file(state& s, const upload_expired& e);
void apply_file(state& s, const file_removed& e);
/// Deleting a message hides the file it carries; deleting the room hides every file.
void hide_files_of_message(state& s, message_id message, unix_time time);
void hide_all_files(state& s, unix_time time);

}  // namespace hibiki::room::detail
