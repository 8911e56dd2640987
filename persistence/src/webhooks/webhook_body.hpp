#pragma once
/// Private to the webhooks: the bodies POSTed for room events, in Chatwork's shape
/// {webhook_setting_id, webhook_event_type, webhook_event_time, webhook_event: {...}}.
#include <string>
#include <vector>

#include "hibiki/core/room.hpp"

namespace hibiki::persistence::webhooks {

/// One delivery to make: which webhook, and the exact bytes to sign and send.
struct planned_delivery {
  webhook_id webhook;
  std::string body;
};

/// The deliveries `e` (an event of `room`) causes for the webhooks in `settings`, in order:
/// per setting, message_created, then one mention_to_me per mentioned account, or one
/// task_created per task. Events that no setting wants cause none.
std::vector<planned_delivery> deliveries_for(
    room_id room, const room::event& e,
    const std::map<webhook_id, room::webhook_setting>& settings);

}  // namespace hibiki::persistence::webhooks
