#pragma once
/// Private to core: the rules and state changes of a room's webhook settings (room_webhook.hpp),
/// called from room::decide and room::apply.

#include "hibiki/core/room.hpp"

namespace hibiki::room::detail {

result<decision> decide_create_webhook(const state& s, const member_state& actor,
                                       const create_webhook& c);
result<decision> decide_list_webhooks(const state& s, const member_state& actor);
result<decision> decide_delete_webhook(const state& s, const member_state& actor,
                                       const delete_webhook& c);

void apply_webhook(state& s, const webhook_created& e);
void apply_webhook(state& s, const webhook_deleted& e);

}  // namespace hibiki::room::detail
