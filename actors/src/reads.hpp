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

command_reply read_history(persistence::read_store& reads, account_id reader,
                           const protocol::history_req& req);
command_reply read_list_rooms(persistence::read_store& reads, account_id reader);
/// The reply is `{}`; the replayed events and the final `synced` are in `then`.
command_reply read_sync(persistence::read_store& reads, account_id reader,
                        const protocol::sync_req& req);
/// `{account_id, name}` of the account whose token hashes to `token`, or unauthenticated.
command_reply read_auth(persistence::read_store& reads, const std::string& token);

/// `get_accounts`: {"accounts": [{"account_id", "name"}, ...]} in the order asked, each id once;
/// ids with no account are left out.
command_reply read_accounts(persistence::read_store& reads, const std::vector<account_id>& ids);

}  // namespace hibiki::actors
