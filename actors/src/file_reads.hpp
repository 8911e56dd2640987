#pragma once
/// The file queries a session answers from the room_files read model (get_file, list_files).
/// Blocking: they run on the io executor. Members only, like history.

#include <optional>

#include <nlohmann/json.hpp>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/read_store.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// Most files one list_files answers: the newest ones.
inline constexpr std::size_t max_listed_files = 100;

/// The room_files row of a visible file (the file object plus content_type and object_key).
/// Errors: forbidden (not a member), not_found (no such room, or no such visible file in it).
result<nlohmann::json> read_file_row(persistence::read_store& reads, account_id reader,
                                     room_id room, file_id file);

/// The file object of a room_files row: the row without what only the node uses.
nlohmann::json file_object_of(nlohmann::json row);

/// `list_files`: {"files": [file objects]}, the newest max_listed_files visible files in file
/// order, only `uploader`'s when given.
command_reply read_file_list(persistence::read_store& reads, account_id reader, room_id room,
                             std::optional<account_id> uploader);

}  // namespace hibiki::actors
