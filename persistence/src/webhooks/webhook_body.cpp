#include "webhook_body.hpp"

#include <nlohmann/json.hpp>

#include "hibiki/core/protocol.hpp"

namespace hibiki::persistence::webhooks {

namespace {

using nlohmann::json;

std::string envelope(webhook_id id, room::webhook_event type, unix_time time, json event) {
  // Chatwork sends the setting id as a string and the time as Unix seconds.
  json j{{"webhook_setting_id", std::to_string(id.value)},
         {"webhook_event_type", std::string(room::to_string(type))},
         {"webhook_event_time", time},
         {"webhook_event", std::move(event)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::vector<planned_delivery> deliveries_for(
    room_id room, const room::event& e,
    const std::map<webhook_id, room::webhook_setting>& settings) {
  std::vector<planned_delivery> out;
  if (settings.empty()) return out;
  if (const auto* m = std::get_if<room::message_posted>(&e)) {
    for (const auto& [id, s] : settings) {
      if (s.wants(room::webhook_event::message_created)) {
        json event{{"message_id", protocol::to_wire(m->id)},
                   {"room_id", room.value},
                   {"account_id", m->author.value},
                   {"body", m->body},
                   {"send_time", m->time},
                   {"update_time", 0}};
        out.push_back({id, envelope(id, room::webhook_event::message_created, m->time, event)});
      }
      if (s.wants(room::webhook_event::mention_to_me)) {
        for (const auto to : m->mentions) {
          json event{{"from_account_id", m->author.value},
                     {"to_account_id", to.value},
                     {"room_id", room.value},
                     {"message_id", protocol::to_wire(m->id)},
                     {"body", m->body},
                     {"send_time", m->time},
                     {"update_time", 0}};
          out.push_back({id, envelope(id, room::webhook_event::mention_to_me, m->time, event)});
        }
      }
    }
  } else if (const auto* t = std::get_if<room::task_added>(&e)) {
    for (const auto& [id, s] : settings) {
      if (!s.wants(room::webhook_event::task_created)) continue;
      json event{{"task_id", t->id.value},
                 {"room_id", room.value},
                 {"account_id", t->assignee.value},
                 {"assigned_by_account_id", t->by.value},
                 {"message_id", protocol::to_wire(t->message)},
                 {"body", t->body},
                 {"limit_time", t->limit},
                 {"limit_type", std::string(room::to_string(t->limit_type))},
                 {"status", "open"},
                 {"time", t->time}};
      out.push_back({id, envelope(id, room::webhook_event::task_created, t->time, event)});
    }
  }
  return out;
}

}  // namespace hibiki::persistence::webhooks
