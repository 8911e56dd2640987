/// `room::apply`: folds one event into the room state. Events are facts, so nothing here fails;
/// an event that does not fit the state (which a correct journal never holds) changes nothing
/// rather than corrupting the state.

#include <algorithm>

#include "hibiki/core/room.hpp"
#include "room_file_rules.hpp"
#include "room_webhook_rules.hpp"

namespace hibiki::room {

namespace {

void insert_sorted(std::vector<message_id>& ids, message_id id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) ids.insert(it, id);
}

void erase_id(std::vector<message_id>& ids, message_id id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it != ids.end() && *it == id) ids.erase(it);
}

void advance_cursor(member_state& m, message_id up_to) {
  if (up_to <= m.read_up_to) return;
  m.read_up_to = up_to;
  std::erase_if(m.pending_mentions, [&](message_id id) { return id <= up_to; });
}

/// Adds `id` to the pending mentions of each mentioned member who has not read it yet.
void add_mentions(state& s, message_id id, const std::vector<account_id>& mentions) {
  for (const auto a : mentions) {
    auto it = s.members.find(a);
    if (it != s.members.end() && id > it->second.read_up_to) {
      insert_sorted(it->second.pending_mentions, id);
    }
  }
}

void remove_mentions(state& s, message_id id) {
  for (auto& [a, m] : s.members) erase_id(m.pending_mentions, id);
}

std::string dedupe_key(account_id a, std::string_view client_msg_id) {
  return std::to_string(a.value) + ":" + std::string(client_msg_id);
}

void remember(state& s, const std::string& key, sent_receipt receipt) {
  if (!s.dedupe.emplace(key, receipt).second) return;
  s.dedupe_order.push_back(key);
  while (s.dedupe_order.size() > dedupe_window) {
    s.dedupe.erase(s.dedupe_order.front());
    s.dedupe_order.pop_front();
  }
}

bool known_message(const state& s, message_id id) {
  return id && id <= s.last_message();
}

void apply_one(state& s, const room_created& e) {
  s.id = e.room;
  s.created = true;
  s.type = e.type;
  s.name = e.name;
  s.description = e.description;
  s.created_at = e.time;
  s.members[e.creator] = member_state{role::admin, s.last_message(), {}};
  // Both people of a direct chat are its admins: neither is above the other.
  const auto initial_role = e.type == room_type::direct ? role::admin : role::member;
  for (const auto a : e.members) {
    s.members.emplace(a, member_state{initial_role, s.last_message(), {}});
  }
}

void apply_one(state& s, const member_added& e) {
  auto it = s.members.find(e.account);
  if (it != s.members.end()) {
    it->second.role = e.role;
    return;
  }
  // History from before joining is not "unread" for the new member.
  s.members.emplace(e.account, member_state{e.role, s.last_message(), {}});
}

/// Drops `account`'s tasks (Chatwork's rule: your tasks in a room go with you when you leave).
void drop_tasks_of(state& s, account_id account) {
  std::erase_if(s.tasks, [&](const auto& kv) { return kv.second.assignee == account; });
  s.open_tasks.erase(account);
}

void apply_one(state& s, const member_removed& e) {
  s.members.erase(e.account);
  drop_tasks_of(s, e.account);
}

void apply_one(state& s, const message_posted& e) {
  // Ids are dense; the event's id is the next one by construction of decide.
  if (e.id.value != s.messages.size() + 1) return;
  s.messages.push_back(message_meta{e.author, e.time, 0, false});
  if (!e.mentions.empty()) s.mentions[e.id] = e.mentions;
  if (auto it = s.members.find(e.author); it != s.members.end()) advance_cursor(it->second, e.id);
  add_mentions(s, e.id, e.mentions);
  // A message a client did not send itself (a task's, a file's) has no client_msg_id to retry
  // with (complete_upload is idempotent by its file id).
  if (!e.client_msg_id.empty()) {
    remember(s, dedupe_key(e.author, e.client_msg_id), sent_receipt{e.id, s.seq});
  }
}

void apply_one(state& s, const message_edited& e) {
  if (!known_message(s, e.id)) return;
  s.messages[e.id.value - 1].update_time = e.time;
  if (e.mentions.empty()) {
    s.mentions.erase(e.id);
  } else {
    s.mentions[e.id] = e.mentions;
  }
  remove_mentions(s, e.id);
  add_mentions(s, e.id, e.mentions);
}

void apply_one(state& s, const message_deleted& e) {
  if (!known_message(s, e.id)) return;
  s.messages[e.id.value - 1].deleted = true;
  insert_sorted(s.deleted, e.id);
  s.mentions.erase(e.id);
  remove_mentions(s, e.id);
  detail::hide_files_of_message(s, e.id, e.time);
}

void apply_one(state& s, const read_marked& e) {
  auto it = s.members.find(e.account);
  if (it == s.members.end()) return;
  advance_cursor(it->second, std::min(e.up_to, s.last_message()));
}

void apply_one(state& s, const room_updated& e) {
  s.name = e.name;
  s.description = e.description;
  s.icon_preset = e.icon_preset;
}

void apply_one(state& s, const room_deleted& e) {
  s.removed = true;
  detail::hide_all_files(s, e.time);
  s.webhooks.clear();
  s.members.clear();
  s.tasks.clear();
  s.open_tasks.clear();
}

void apply_one(state& s, const task_added& e) {
  if (e.id <= s.last_task) return;  // ids only grow
  s.last_task = e.id;
  // An assignee who is not a member (a correct journal never says so) gets no task.
  if (s.member(e.assignee) == nullptr) return;
  s.tasks[e.id] =
      task{e.assignee, e.by, e.body,    e.limit,         e.limit_type, task_status::open,
           e.time,     0,    e.message, e.assignee_name, e.by_name};
  ++s.open_tasks[e.assignee];
}

void apply_one(state& s, const task_status_changed& e) {
  auto it = s.tasks.find(e.id);
  if (it == s.tasks.end() || it->second.status == e.status) return;
  it->second.status = e.status;
  it->second.update_time = e.time;
  auto& open = s.open_tasks[it->second.assignee];
  if (e.status == task_status::open) {
    ++open;
  } else if (open > 0) {
    --open;
  }
  if (open == 0) s.open_tasks.erase(it->second.assignee);
}

void apply_one(state& s, const unread_marked& e) {
  auto it = s.members.find(e.account);
  if (it == s.members.end() || e.up_to >= it->second.read_up_to) return;
  const message_id was = it->second.read_up_to;
  it->second.read_up_to = e.up_to;
  // The mentions of the messages that are unread again are pending again.
  for (auto m = s.mentions.upper_bound(e.up_to); m != s.mentions.end() && m->first <= was; ++m) {
    if (std::find(m->second.begin(), m->second.end(), e.account) != m->second.end()) {
      insert_sorted(it->second.pending_mentions, m->first);
    }
  }
}

void apply_one(state& s, const upload_requested& e) {
  detail::apply_file(s, e);
}
void apply_one(state& s, const file_uploaded& e) {
  detail::apply_file(s, e);
}
void apply_one(state& s, const upload_expired& e) {
  detail::apply_file(s, e);
}
void apply_one(state& s, const file_removed& e) {
  detail::apply_file(s, e);
}
void apply_one(state& s, const webhook_created& e) {
  detail::apply_webhook(s, e);
}
void apply_one(state& s, const webhook_deleted& e) {
  detail::apply_webhook(s, e);
}

}  // namespace

bool is_visible(const event& e) {
  return !std::holds_alternative<read_marked>(e) && !std::holds_alternative<unread_marked>(e) &&
         !std::holds_alternative<upload_requested>(e) &&
         !std::holds_alternative<upload_expired>(e) && !std::holds_alternative<file_removed>(e) &&
         !std::holds_alternative<webhook_created>(e) && !std::holds_alternative<webhook_deleted>(e);
}

const member_state* state::member(account_id a) const {
  auto it = members.find(a);
  return it == members.end() ? nullptr : &it->second;
}

state apply(state s, const event& e) {
  // The seq moves first so that a posted message's receipt records its own seq.
  if (is_visible(e)) ++s.seq;
  std::visit([&](const auto& ev) { apply_one(s, ev); }, e);
  return s;
}

}  // namespace hibiki::room
