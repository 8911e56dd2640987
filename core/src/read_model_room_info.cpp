/// What the room entity answers to get_room, get_members and set_members: its own state, shaped
/// like the protocol's (and Chatwork's) objects.

#include <algorithm>

#include "hibiki/core/protocol.hpp"
#include "hibiki/core/read_model.hpp"

namespace hibiki::read_model {

using nlohmann::json;

json room_info(const room::state& s, account_id viewer) {
  const auto* m = s.member(viewer);
  return json{{"room_id", s.id.value},
              {"name", s.name},
              {"description", s.description},
              {"type", std::string(room::to_string(s.type))},
              {"icon_preset", s.icon_preset},
              {"role", std::string(to_string(m ? m->role : role::readonly))},
              {"unread_num", room::unread_num(s, viewer)},
              {"mention_num", room::mention_num(s, viewer)},
              {"message_num", room::message_num(s)},
              {"member_num", s.members.size()},
              {"task_num", room::task_num(s)},
              {"mytask_num", room::mytask_num(s, viewer)},
              // Files come later; Chatwork's field is there so clients can rely on it.
              {"file_num", room::file_num(s)},
              {"last_update_time", room::last_update_time(s)},
              {"last_seq", s.seq}};
}

json member_list(const room::state& s) {
  json list = json::array();
  for (const auto& [a, m] : s.members) {
    list.push_back(json{{"account_id", a.value}, {"role", std::string(to_string(m.role))}});
  }
  return list;
}

json members_by_role(const room::state& s) {
  json out{{"admin", json::array()}, {"member", json::array()}, {"readonly", json::array()}};
  for (const auto& [a, m] : s.members) out[std::string(to_string(m.role))].push_back(a.value);
  return out;
}

json task_object(room_id r, task_id id, const room::task& t) {
  return json{{"task_id", id.value},
              {"room_id", r.value},
              {"account", {{"account_id", t.assignee.value}, {"name", t.assignee_name}}},
              {"assigned_by_account", {{"account_id", t.by.value}, {"name", t.by_name}}},
              {"message_id", t.message ? protocol::to_wire(t.message) : std::string()},
              {"body", t.body},
              {"limit_time", t.limit},
              {"limit_type", std::string(room::to_string(t.limit_type))},
              {"status", std::string(room::to_string(t.status))},
              {"time", t.time},
              {"update_time", t.update_time}};
}

json task_list(const room::state& s, const room::list_tasks& q) {
  json list = json::array();
  for (const auto& [id, t] : s.tasks) {
    if (q.assignee && t.assignee != *q.assignee) continue;
    if (q.assigned_by && t.by != *q.assigned_by) continue;
    if (q.status && t.status != *q.status) continue;
    list.push_back(task_object(s.id, id, t));
  }
  return list;
}

}  // namespace hibiki::read_model
