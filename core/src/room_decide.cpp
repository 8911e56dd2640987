/// `room::decide`: every rule of the protocol that concerns one room. Pure: the state and the
/// command in, the events (or the reason to refuse) out.

#include <algorithm>
#include <set>
#include <string>

#include "hibiki/core/room.hpp"
#include "room_file_rules.hpp"
#include "room_webhook_rules.hpp"

namespace hibiki::room {

namespace {

hibiki::error fail(errc code, std::string message) {
  return {code, std::move(message)};
}

decision single(event e) {
  decision d;
  d.events.push_back(std::move(e));
  return d;
}

status check_body(std::string_view body) {
  const auto n = utf8_length(body);
  if (!n) return {errc::bad_request, "body must be valid UTF-8"};
  if (*n == 0) return {errc::bad_request, "body must not be empty"};
  if (*n > max_body_chars) {
    return {errc::too_large,
            "body must be at most " + std::to_string(max_body_chars) + " characters"};
  }
  return {};
}

status check_text(std::string_view text, std::string_view field, std::size_t min, std::size_t max) {
  const auto n = utf8_length(text);
  if (!n) return {errc::bad_request, std::string(field) + " must be valid UTF-8"};
  if (*n < min) return {errc::bad_request, std::string(field) + " must not be empty"};
  if (*n > max) {
    return {errc::too_large,
            std::string(field) + " must be at most " + std::to_string(max) + " characters"};
  }
  return {};
}

/// The key of the idempotency window: one account's client ids never collide with another's.
std::string dedupe_key(account_id a, std::string_view client_msg_id) {
  return std::to_string(a.value) + ":" + std::string(client_msg_id);
}

bool has_admin(const std::map<account_id, role>& roles) {
  return std::any_of(roles.begin(), roles.end(),
                     [](const auto& kv) { return kv.second == role::admin; });
}

std::map<account_id, role> roles_of(const state& s) {
  std::map<account_id, role> roles;
  for (const auto& [a, m] : s.members) roles.emplace(a, m.role);
  return roles;
}

/// The room must keep an admin while it has members: otherwise nobody could manage it again.
bool leaves_orphans(const std::map<account_id, role>& roles) {
  return !roles.empty() && !has_admin(roles);
}

/// A `my` or `direct` room: its membership is fixed when it is made.
bool fixed_membership(const state& s) {
  return s.type != room_type::group;
}

hibiki::error fixed_membership_error(const state& s) {
  return s.type == room_type::my
             ? hibiki::error{errc::forbidden,
                             "a my chat has only its owner; its members cannot change"}
             : hibiki::error{errc::forbidden,
                             "a direct chat is between two people; its members cannot change"};
}

result<decision> decide_create(const state& s, const create_room& c) {
  if (s.created) return fail(errc::conflict, "room already exists");
  if (!c.actor) return fail(errc::bad_request, "actor must be an account");
  if (!c.room) return fail(errc::bad_request, "room_id must be a positive integer");
  // my and direct chats take their name from the people in them, so theirs may be empty.
  const std::size_t min_name = c.type == room_type::group ? 1 : 0;
  if (auto st = check_text(c.name, "name", min_name, max_name_chars); !st) return st.error();
  if (auto st = check_text(c.description, "description", 0, max_description_chars); !st) {
    return st.error();
  }
  if (c.members.size() > max_members_per_command) {
    return fail(errc::bad_request, "members must list at most " +
                                       std::to_string(max_members_per_command) + " accounts");
  }
  room_created e;
  e.room = c.room;
  e.name = c.name;
  e.description = c.description;
  e.creator = c.actor;
  e.time = c.now;
  std::set<account_id> seen{c.actor};
  for (const auto a : c.members) {
    if (!a || a.value > max_wire_id) {
      return fail(errc::bad_request, "members must be positive integers");
    }
    if (seen.insert(a).second) e.members.push_back(a);
  }
  e.type = c.type;
  if (c.type == room_type::my && !e.members.empty()) {
    return fail(errc::bad_request, "a my chat has no members besides its owner");
  }
  if (c.type == room_type::direct && e.members.size() != 1) {
    return fail(errc::bad_request, "a direct chat has exactly one member besides its creator");
  }
  return single(std::move(e));
}

result<decision> decide_add(const state& s, const member_state& actor, const add_members& c) {
  if (actor.role != role::admin) return fail(errc::forbidden, "only admins may add members");
  if (fixed_membership(s)) return fixed_membership_error(s);
  if (c.accounts.empty()) return fail(errc::bad_request, "account_ids must not be empty");
  if (c.accounts.size() > max_members_per_command) {
    return fail(errc::bad_request, "account_ids must list at most " +
                                       std::to_string(max_members_per_command) + " accounts");
  }
  decision d;
  auto roles = roles_of(s);
  std::set<account_id> seen;
  for (const auto a : c.accounts) {
    if (!a || a.value > max_wire_id) {
      return fail(errc::bad_request, "account_ids must be positive integers");
    }
    if (!seen.insert(a).second) continue;
    const auto* m = s.member(a);
    if (m != nullptr && m->role == c.role) continue;  // nothing changes, so nothing happens
    roles[a] = c.role;
    d.events.push_back(member_added{a, c.role, c.actor});
  }
  if (leaves_orphans(roles)) {
    return fail(errc::conflict, "the room would have no admin; make another member admin first");
  }
  return d;
}

result<decision> decide_remove(const state& s, const member_state& actor, account_id actor_id,
                               account_id target) {
  if (target != actor_id && actor.role != role::admin) {
    return fail(errc::forbidden, "only admins may remove other members");
  }
  if (s.member(target) == nullptr) return fail(errc::not_found, "account is not a member");
  if (fixed_membership(s)) return fixed_membership_error(s);
  auto roles = roles_of(s);
  roles.erase(target);
  if (leaves_orphans(roles)) {
    return fail(errc::conflict, "the last admin must make another member admin first");
  }
  return single(member_removed{target, actor_id});
}

result<decision> decide_send(const state& s, const member_state& actor, const send_message& c) {
  if (actor.role == role::readonly) return fail(errc::forbidden, "read-only members cannot post");
  if (auto st = check_body(c.body); !st) return st.error();
  const auto id_len = utf8_length(c.client_msg_id);
  if (!id_len || *id_len == 0 || *id_len > max_client_msg_id) {
    return fail(errc::bad_request,
                "client_msg_id must be 1 to " + std::to_string(max_client_msg_id) + " characters");
  }
  if (auto it = s.dedupe.find(dedupe_key(c.actor, c.client_msg_id)); it != s.dedupe.end()) {
    decision d;
    d.duplicate_of = it->second;
    return d;
  }
  message_posted e;
  e.id = message_id{s.last_message().value + 1};
  e.author = c.actor;
  e.body = c.body;
  e.client_msg_id = c.client_msg_id;
  e.time = c.now;
  e.mentions = detail::member_mentions(s, c.body, c.actor);
  e.author_name = c.author_name;
  auto d = single(std::move(e));
  // self_unread: the author's cursor goes back to where it was, so the new message is unread.
  if (c.self_unread) d.events.push_back(unread_marked{c.actor, actor.read_up_to});
  return d;
}

/// The message an edit or delete targets, checked: it exists, is not deleted, and is the actor's.
result<const message_meta*> own_message(const state& s, const member_state& actor,
                                        account_id actor_id, message_id id) {
  if (actor.role == role::readonly) {
    return fail(errc::forbidden, "read-only members cannot change messages");
  }
  if (!id || id > s.last_message()) return fail(errc::not_found, "no such message");
  const auto& meta = s.messages[id.value - 1];
  if (meta.deleted) return fail(errc::not_found, "message was deleted");
  if (meta.author != actor_id) {
    return fail(errc::forbidden, "only the author may change a message");
  }
  return &meta;
}

result<decision> decide_edit(const state& s, const member_state& actor, const edit_message& c) {
  auto meta = own_message(s, actor, c.actor, c.message);
  if (!meta) return meta.error();
  if (auto st = check_body(c.body); !st) return st.error();
  return single(message_edited{c.message, c.body, c.now,
                               detail::member_mentions(s, c.body, c.actor), c.author_name});
}

result<decision> decide_delete(const state& s, const member_state& actor, const delete_message& c) {
  auto meta = own_message(s, actor, c.actor, c.message);
  if (!meta) return meta.error();
  return single(message_deleted{c.message, c.now});
}

result<decision> decide_mark_read(const state& s, const member_state& actor, const mark_read& c) {
  if (!c.message || c.message > s.last_message()) {
    return fail(errc::not_found, "no such message");
  }
  // Marking an older message is not an error: the reply just reports the current counts.
  if (c.message <= actor.read_up_to) return decision{};
  return single(read_marked{c.actor, c.message});
}

result<decision> decide_update(const state& s, const member_state& actor, const update_room& c) {
  if (actor.role != role::admin) return fail(errc::forbidden, "only admins may change the room");
  if (!c.name && !c.description && !c.icon_preset) {
    return fail(errc::bad_request, "name, description or icon_preset is required");
  }
  if (s.type != room_type::group && (c.name || c.icon_preset)) {
    return fail(errc::forbidden,
                s.type == room_type::my
                    ? "a my chat keeps its name and icon"
                    : "a direct chat takes its name and icon from the people in it");
  }
  room_updated e{s.name, s.description, s.icon_preset, c.actor, c.now};
  if (c.name) {
    if (auto st = check_text(*c.name, "name", 1, max_name_chars); !st) return st.error();
    e.name = *c.name;
  }
  if (c.description) {
    if (auto st = check_text(*c.description, "description", 0, max_description_chars); !st) {
      return st.error();
    }
    e.description = *c.description;
  }
  if (c.icon_preset) {
    if (!is_icon_preset(*c.icon_preset)) {
      return fail(errc::bad_request,
                  "icon_preset must be one of Chatwork's presets (group, "
                  "check, document, meeting, event, project, business, study, "
                  "security, star, idea, heart, magcup, beer, music, sports, "
                  "travel)");
    }
    e.icon_preset = *c.icon_preset;
  }
  // Nothing changes, so nothing happens (the reply still says ok).
  if (e.name == s.name && e.description == s.description && e.icon_preset == s.icon_preset) {
    return decision{};
  }
  return single(std::move(e));
}

result<decision> decide_delete_room(const state& s, const member_state& actor,
                                    const delete_room& c) {
  if (actor.role != role::admin) return fail(errc::forbidden, "only admins may delete the room");
  if (fixed_membership(s)) {
    return fail(errc::forbidden, s.type == room_type::my ? "a my chat cannot be deleted"
                                                         : "a direct chat cannot be deleted");
  }
  return single(room_deleted{c.actor, c.now});
}

result<decision> decide_set_members(const state& s, const member_state& actor,
                                    const set_members& c) {
  if (actor.role != role::admin) return fail(errc::forbidden, "only admins may change members");
  if (fixed_membership(s)) return fixed_membership_error(s);
  if (c.admins.empty()) {
    return fail(errc::bad_request, "members_admin_ids must name at least one admin");
  }
  if (c.admins.size() + c.members.size() + c.readonly.size() > max_members_per_command) {
    return fail(errc::bad_request, "the member lists must name at most " +
                                       std::to_string(max_members_per_command) + " accounts");
  }
  std::map<account_id, role> wanted;
  const std::pair<const std::vector<account_id>*, role> lists[] = {
      {&c.admins, role::admin}, {&c.members, role::member}, {&c.readonly, role::readonly}};
  for (const auto& [list, r] : lists) {
    for (const auto a : *list) {
      if (!a || a.value > max_wire_id) {
        return fail(errc::bad_request, "member lists must hold positive integers");
      }
      auto [it, fresh] = wanted.emplace(a, r);
      if (!fresh && it->second != r) {
        return fail(errc::bad_request,
                    "account " + std::to_string(a.value) + " is in more than one member list");
      }
    }
  }
  decision d;
  for (const auto& [a, r] : wanted) {
    const auto* m = s.member(a);
    if (m == nullptr || m->role != r) d.events.push_back(member_added{a, r, c.actor});
  }
  for (const auto& [a, m] : s.members) {
    if (!wanted.contains(a)) d.events.push_back(member_removed{a, c.actor});
  }
  return d;
}

result<decision> decide_add_task(const state& s, const member_state& actor, const add_task& c) {
  if (actor.role == role::readonly) {
    return fail(errc::forbidden, "read-only members cannot add tasks");
  }
  if (auto st = check_body(c.body); !st) return st.error();
  if (c.assignees.empty() || c.assignees.size() > max_task_assignees) {
    return fail(errc::bad_request,
                "to_ids must name 1 to " + std::to_string(max_task_assignees) + " members");
  }
  if (c.limit < 0) return fail(errc::bad_request, "limit must be a Unix time (not negative)");
  if (c.limit_type == limit_type::none && c.limit != 0) {
    return fail(errc::bad_request, "limit_type none takes no limit");
  }
  if (c.limit_type != limit_type::none && c.limit == 0) {
    return fail(errc::bad_request, "limit_type date or time needs a limit");
  }
  std::vector<account_id> assignees;
  for (const auto a : c.assignees) {
    if (std::find(assignees.begin(), assignees.end(), a) != assignees.end()) continue;
    if (s.member(a) == nullptr) {
      return fail(errc::bad_request,
                  "account " + std::to_string(a.value) + " is not a member of the room");
    }
    assignees.push_back(a);
  }
  // The message that shows the tasks in the room, as Chatwork posts one. Its mentions are those
  // of its text, as an edit of it would find them (the assignees are named, not mentioned: they
  // see the task in their counts); it has no client_msg_id (no retry maps to it).
  message_posted shown;
  shown.id = message_id{s.last_message().value + 1};
  shown.author = c.actor;
  shown.body = task_message_body(assignees, c.body);
  shown.time = c.now;
  shown.mentions = detail::member_mentions(s, shown.body, c.actor);
  shown.author_name = c.author_name;
  decision d;
  d.events.push_back(shown);
  task_id next = s.last_task;
  for (const auto a : assignees) {
    next = task_id{next.value + 1};
    task_added t{next, a, c.actor, c.body, c.limit, c.limit_type, c.now};
    t.message = shown.id;
    if (auto it = c.names.find(a); it != c.names.end()) t.assignee_name = it->second;
    t.by_name = c.author_name;
    d.events.push_back(std::move(t));
  }
  return d;
}

result<const task*> find_task(const state& s, task_id id) {
  auto it = s.tasks.find(id);
  if (it == s.tasks.end()) return fail(errc::not_found, "no such task");
  return &it->second;
}

result<decision> decide_task_status(const state& s, const set_task_status& c) {
  auto t = find_task(s, c.task);
  if (!t) return t.error();
  if ((*t)->assignee != c.actor && (*t)->by != c.actor) {
    return fail(errc::forbidden, "only the task's assignee or its creator may change its status");
  }
  if ((*t)->status == c.status) return decision{};
  return single(task_status_changed{c.task, c.status, c.actor, c.now});
}

result<decision> decide_mark_unread(const state& s, const member_state& actor,
                                    const mark_unread& c) {
  if (!c.message || c.message > s.last_message()) {
    return fail(errc::not_found, "no such message");
  }
  const message_id cursor{c.message.value - 1};
  // Already unread from there: the reply just reports the current counts.
  if (cursor >= actor.read_up_to) return decision{};
  return single(unread_marked{c.actor, cursor});
}

account_id actor_of(const command& cmd) {
  return std::visit([](const auto& c) { return c.actor; }, cmd);
}

}  // namespace

namespace detail {

/// Mentions that can notify someone: current members other than the author. `[toall]` mentions
/// every member; `[To:id]` and replies `[rp aid=id ...]` the accounts they name.
std::vector<account_id> member_mentions(const state& s, std::string_view body, account_id author) {
  auto mentions = parse_mentions(body);
  std::erase_if(mentions, [&](account_id a) { return a == author || s.member(a) == nullptr; });
  if (mentions_all(body)) {
    for (const auto& [a, m] : s.members) {
      if (a != author && std::find(mentions.begin(), mentions.end(), a) == mentions.end()) {
        mentions.push_back(a);
      }
    }
  }
  return mentions;
}

}  // namespace detail

result<decision> decide(const state& s, const command& cmd) {
  if (const auto* c = std::get_if<create_room>(&cmd)) return decide_create(s, *c);
  if (!s.created) return fail(errc::not_found, "no such room");
  // The sweeper's commands: the node asks, and a deleted room's files are swept too.
  if (const auto* c = std::get_if<retire_file>(&cmd)) return detail::decide_retire_file(s, *c);
  if (const auto* c = std::get_if<forget_file>(&cmd)) return detail::decide_forget_file(s, *c);
  if (s.removed) return fail(errc::not_found, "the room was deleted");
  const account_id actor_id = actor_of(cmd);
  const member_state* actor = s.member(actor_id);
  if (actor == nullptr) return fail(errc::forbidden, "not a member of the room");
  return std::visit(
      [&](const auto& c) -> result<decision> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, create_room>) {
          return fail(errc::internal, "unreachable");
        } else if constexpr (std::is_same_v<T, add_members>) {
          return decide_add(s, *actor, c);
        } else if constexpr (std::is_same_v<T, remove_member>) {
          return decide_remove(s, *actor, actor_id, c.account);
        } else if constexpr (std::is_same_v<T, leave_room>) {
          return decide_remove(s, *actor, actor_id, actor_id);
        } else if constexpr (std::is_same_v<T, send_message>) {
          return decide_send(s, *actor, c);
        } else if constexpr (std::is_same_v<T, edit_message>) {
          return decide_edit(s, *actor, c);
        } else if constexpr (std::is_same_v<T, delete_message>) {
          return decide_delete(s, *actor, c);
        } else if constexpr (std::is_same_v<T, mark_read>) {
          return decide_mark_read(s, *actor, c);
        } else if constexpr (std::is_same_v<T, get_room> || std::is_same_v<T, get_members>) {
          return decision{};  // a query: members may ask, and nothing is recorded
        } else if constexpr (std::is_same_v<T, update_room>) {
          return decide_update(s, *actor, c);
        } else if constexpr (std::is_same_v<T, delete_room>) {
          return decide_delete_room(s, *actor, c);
        } else if constexpr (std::is_same_v<T, set_members>) {
          return decide_set_members(s, *actor, c);
        } else if constexpr (std::is_same_v<T, add_task>) {
          return decide_add_task(s, *actor, c);
        } else if constexpr (std::is_same_v<T, set_task_status>) {
          return decide_task_status(s, c);
        } else if constexpr (std::is_same_v<T, mark_unread>) {
          return decide_mark_unread(s, *actor, c);
        } else if constexpr (std::is_same_v<T, request_upload>) {
          return detail::decide_request_upload(s, *actor, c);
        } else if constexpr (std::is_same_v<T, check_upload>) {
          return detail::decide_check_upload(s, *actor, c);
        } else if constexpr (std::is_same_v<T, complete_upload>) {
          return detail::decide_complete_upload(s, *actor, c);
        } else if constexpr (std::is_same_v<T, retire_file> || std::is_same_v<T, forget_file>) {
          return fail(errc::internal, "unreachable");
        } else if constexpr (std::is_same_v<T, create_webhook>) {
          return detail::decide_create_webhook(s, *actor, c);
        } else if constexpr (std::is_same_v<T, list_webhooks>) {
          return detail::decide_list_webhooks(s, *actor);
        } else if constexpr (std::is_same_v<T, delete_webhook>) {
          return detail::decide_delete_webhook(s, *actor, c);
        } else if constexpr (std::is_same_v<T, get_task>) {
          auto t = find_task(s, c.task);
          if (!t) return t.error();
          return decision{};
        } else {
          return decision{};  // list_tasks: a query
        }
      },
      cmd);
}

}  // namespace hibiki::room
