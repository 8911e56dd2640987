#pragma once
/// The queries a session answers from the read models (history, list_rooms, sync, auth).
/// Blocking: they run on the io executor, never inside an actor. Each returns the reply to send.

#include <nlohmann/json.hpp>

#include "hibiki/core/protocol.hpp"
#include "hibiki/persistence/read_store.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// Most missing events per room that `sync` replays; beyond it a `gap` event replaces them.
inline constexpr seq_nr max_sync_replay = 1000;

/// nullopt when `reader` is a member of `room`; otherwise forbidden, or not_found for no such
/// room (or a storage error). `is_member`, when given, says which.
std::optional<hibiki::error> check_member(persistence::read_store& reads, account_id reader,
                                          room_id room, bool* is_member = nullptr);

command_reply read_history(persistence::read_store& reads, account_id reader,
                           const protocol::history_req& req);
/// `details`: list_rooms's extension fields (see read_model::to_json).
command_reply read_list_rooms(persistence::read_store& reads, account_id reader,
                              bool details = false);

/// `get_message`: {"message": {...}} from the history read model (members only); not_found for
/// a message the room never had.
command_reply read_message(persistence::read_store& reads, account_id reader, room_id room,
                           message_id message);

/// `my_status`: Chatwork's unread/mention/task counts over all the reader's rooms.
command_reply read_my_status(persistence::read_store& reads, account_id reader);
/// `my_tasks`: the tasks assigned to the reader (account_tasks rows), each with its
/// room {room_id, name}, filtered by creator and status.
command_reply read_my_tasks(persistence::read_store& reads, account_id reader,
                            std::optional<account_id> assigned_by,
                            std::optional<std::string> status);

/// One room of a `sync` with something to send: replay seqs `since + 1 ..= current`, or just a
/// `gap` (more than max_sync_replay events missing).
struct sync_room {
  room_id room;
  seq_nr since = 0;
  seq_nr current = 0;
  bool gap = false;
};
/// The rooms of `req` the reader is a member of and is behind in, in request order. Small: no
/// event is read. Errors: storage failures only (foreign and unknown rooms are skipped).
result<std::vector<sync_room>> plan_sync(persistence::read_store& reads, account_id reader,
                                         const protocol::sync_req& req);

/// The next events of a room being replayed.
struct sync_batch {
  std::vector<std::string> frames;  ///< push frames, in seq order
  std::size_t bytes = 0;            ///< their total size
  seq_nr next = 0;                  ///< the first seq not in this batch
  bool done = false;                ///< nothing left up to `current`
  bool over_cap = false;            ///< the room's events from `from` exceed `size_cap`
};
/// Reads the events of `room` from seq `from` up to `current`: as many as fit in `batch_bytes`
/// (at least one). With a `size_cap` (0 = none) it first measures the whole range without
/// keeping it, stopping at the cap: `over_cap` then says to send a `gap` instead. So one call
/// holds at most `batch_bytes` plus one event.
result<sync_batch> read_sync_batch(persistence::read_store& reads, room_id room, seq_nr from,
                                   seq_nr current, std::size_t batch_bytes, std::size_t size_cap);

/// `{account_id, name}` of the account whose token hashes to `token`, or unauthenticated.
command_reply read_auth(persistence::read_store& reads, const std::string& token);

/// `get_accounts`: {"accounts": [{"account_id", "name"}, ...]} in the order asked, each id once,
/// for the accounts `reader` knows (as `get_profiles`: itself, its contacts, either side of a
/// waiting contact request, everyone in a room with it); other ids are left out.
command_reply read_accounts(persistence::read_store& reads, account_id reader,
                            const std::vector<account_id>& ids);

/// `get_members`: {"members": [...]} with each entry's "name" from the accounts read model
/// (an account without a row keeps its entry, without a name).
command_reply with_member_names(persistence::read_store& reads, const nlohmann::json& members);

/// Names the people of task objects as Chatwork does: `account.name` (the assignee) and
/// `assigned_by_account.name` (the creator), their current display names, in `tasks` (one task
/// object, or an array of them). An account without a row keeps its object without a name.
void name_task_accounts(persistence::read_store& reads, nlohmann::json& tasks);

}  // namespace hibiki::actors
