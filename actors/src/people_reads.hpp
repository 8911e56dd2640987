#pragma once
/// The people queries answered from the read models: profiles of known accounts, contacts,
/// incoming contact requests, and the current names message objects carry. Blocking: they run
/// on the io executor, never inside an actor.

#include <optional>
#include <string>
#include <vector>

#include "hibiki/persistence/read_store.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// The account's profile as others see it (the accounts row without operator flags), or nullopt
/// when there is no such account.
result<std::optional<nlohmann::json>> read_profile(persistence::read_store& reads,
                                                   account_id account);

/// The current display name of `account` (nullopt: no such account, or unreadable).
std::optional<std::string> current_name(persistence::read_store& reads, account_id account);

/// True when `reader` may see `other`'s profile: itself, a contact, either side of a waiting
/// contact request, or a member of a room `reader` is in. `reader_rooms` are the reader's rooms.
result<bool> knows(persistence::read_store& reads, account_id reader, account_id other,
                   const std::vector<room_id>& reader_rooms);

/// `get_profiles`: {"profiles": [...]} in the order asked, each id once; accounts the reader
/// does not know, and ids with no account, are left out.
command_reply read_profiles(persistence::read_store& reads, account_id reader,
                            const std::vector<account_id>& ids);

/// `contacts`: {"contacts": [{account_id, room_id, name, chatwork_id, organization_name,
/// department, title, introduction}]} by account id.
command_reply read_contacts(persistence::read_store& reads, account_id reader);

/// `incoming_requests`: {"requests": [{request_id, account_id, message, time, name,
/// chatwork_id, organization_name, department, title, introduction}]} by requester id.
command_reply read_incoming_requests(persistence::read_store& reads, account_id reader);

}  // namespace hibiki::actors
