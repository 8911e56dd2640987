/// The projection: which rows an event changes. Everything is derived from (before, event, after)
/// so the rows are exactly what the state says, and replaying the events rebuilds them.

#include <set>

#include "hibiki/core/json_text.hpp"
#include "hibiki/core/protocol.hpp"
#include "hibiki/core/read_model.hpp"
#include "hibiki/core/read_model_text.hpp"
#include "hibiki/core/room_prior.hpp"
#include "json_fields.hpp"

namespace hibiki::read_model {

namespace {

using nlohmann::json;

json room_event(std::string_view ev, const room::state& after) {
  return json{{"ev", std::string(ev)}, {"room_id", after.id.value}, {"seq", after.seq}};
}

/// The message object of message `id` as it is in `after`, with `body` as its current text and
/// `name` as its author's name.
json current_message(const room::state& after, message_id id, std::string_view body,
                     std::string_view name = {}) {
  if (!id || id > after.last_message()) {
    return message_object(id, account_id{}, body, 0, 0, false, name);
  }
  const auto& meta = after.messages[id.value - 1];
  return message_object(id, meta.author, body, meta.send_time, meta.update_time, meta.deleted,
                        name);
}

room_summary summary_of(const room::state& s) {
  return room_summary{s.id,
                      s.name,
                      s.seq,
                      s.last_message(),
                      s.deleted,
                      s.type,
                      room::task_num(s),
                      room::last_update_time(s),
                      s.icon_preset,
                      room::file_num(s)};
}

member_row row_of(const room::state& s, account_id a, const room::member_state& m) {
  return member_row{s.id, m.role, m.read_up_to, m.pending_mentions, room::mytask_num(s, a)};
}

/// Puts the rows of members whose state changed and deletes those of members who left.
void project_members(const room::state& before, const room::state& after,
                     std::vector<row_op>& ops) {
  std::set<account_id> accounts;
  for (const auto& [a, m] : before.members) accounts.insert(a);
  for (const auto& [a, m] : after.members) accounts.insert(a);
  for (const auto a : accounts) {
    const auto* was = before.member(a);
    const auto* is = after.member(a);
    if (is == nullptr) {
      ops.push_back(row_op{table::member_rooms, member_room_key(a, after.id), std::nullopt});
    } else if (was == nullptr || *was != *is ||
               room::mytask_num(before, a) != room::mytask_num(after, a)) {
      ops.push_back(
          row_op{table::member_rooms, member_room_key(a, after.id), encode(row_of(after, a, *is))});
    }
  }
}

/// project_members for an event that added and removed nobody and changed no task: only the
/// members in `changed` (ascending, as they were before) can differ.
void project_changed_members(const std::vector<std::pair<account_id, room::member_state>>& changed,
                             const room::state& after, std::vector<row_op>& ops) {
  for (const auto& [a, was] : changed) {
    const auto* is = after.member(a);
    if (is == nullptr) {
      ops.push_back(row_op{table::member_rooms, member_room_key(a, after.id), std::nullopt});
    } else if (was != *is) {
      ops.push_back(
          row_op{table::member_rooms, member_room_key(a, after.id), encode(row_of(after, a, *is))});
    }
  }
}

/// The account_tasks rows: put for a task added or changed, delete for tasks that went (their
/// assignee left, or the room was deleted). Other events touch no task.
void project_tasks(const room::state& before, const room::event& e, const room::state& after,
                   std::vector<row_op>& ops) {
  task_id changed;
  if (const auto* a = std::get_if<room::task_added>(&e)) changed = a->id;
  if (const auto* c = std::get_if<room::task_status_changed>(&e)) changed = c->id;
  if (changed) {
    if (auto it = after.tasks.find(changed); it != after.tasks.end()) {
      ops.push_back({table::account_tasks, account_task_key(it->second.assignee, after.id, changed),
                     detail::dump(task_object(after.id, changed, it->second))});
    }
    return;
  }
  if (!std::holds_alternative<room::member_removed>(e) &&
      !std::holds_alternative<room::room_deleted>(e)) {
    return;
  }
  for (const auto& [id, t] : before.tasks) {
    if (!after.tasks.contains(id)) {
      ops.push_back(
          {table::account_tasks, account_task_key(t.assignee, after.id, id), std::nullopt});
    }
  }
}

/// The room_files and file_chores rows of the files `e` changed: a visible file has its
/// room_files row; a pending, hidden or expired one its file_chores row; a forgotten one neither.
void project_files(const room::event& e, const room::state& after, std::vector<row_op>& ops) {
  std::set<file_id> changed;
  std::visit(
      [&](const auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, room::upload_requested> ||
                      std::is_same_v<T, room::file_uploaded> ||
                      std::is_same_v<T, room::upload_expired> ||
                      std::is_same_v<T, room::file_removed>) {
          changed.insert(ev.id);
        } else if constexpr (std::is_same_v<T, room::message_deleted>) {
          // The files the deletion hid: its message's (found in the state after it, so the state
          // before an event need not carry the files; see room_traits::projection_base).
          for (const auto& [id, f] : after.files)
            if (f.message == ev.id && f.status == room::file_status::hidden) changed.insert(id);
        } else if constexpr (std::is_same_v<T, room::room_deleted>) {
          // Every file it hid, and files hidden before at the same second: their rows are
          // rewritten the same, which changes nothing.
          for (const auto& [id, f] : after.files)
            if (f.status == room::file_status::hidden && f.hidden_at == ev.time) changed.insert(id);
        }
      },
      e);
  for (const auto id : changed) {
    auto it = after.files.find(id);
    const room::shared_file* f = it == after.files.end() ? nullptr : &it->second;
    const auto file_key = room_file_key(after.id, id);
    const auto chore_key = file_chore_key(after.id, id);
    if (f != nullptr && f->status == room::file_status::uploaded) {
      ops.push_back({table::room_files, file_key, detail::dump(file_row(id, *f))});
      ops.push_back({table::file_chores, chore_key, std::nullopt});
      continue;
    }
    ops.push_back({table::room_files, file_key, std::nullopt});
    if (f == nullptr) {
      ops.push_back({table::file_chores, chore_key, std::nullopt});
      continue;
    }
    const auto due = f->status == room::file_status::pending ? f->expires_at : f->hidden_at;
    ops.push_back({table::file_chores, chore_key,
                   detail::dump(json{{"room_id", after.id.value},
                                     {"file_id", id.value},
                                     {"status", std::string(room::to_string(f->status))},
                                     {"due", due}})});
  }
}

}  // namespace

json file_object(file_id id, const room::shared_file& f) {
  return json{{"file_id", id.value},
              {"account_id", f.account.value},
              {"message_id", protocol::to_wire(f.message)},
              {"filename", f.filename},
              {"size", f.size},
              {"upload_time", f.upload_time}};
}

json file_row(file_id id, const room::shared_file& f) {
  auto j = file_object(id, f);
  j["content_type"] = f.content_type;
  j["object_key"] = f.object_key;
  return j;
}

namespace {

/// push_frame: every field of the push is in the event or in the state after it.
std::optional<json> frame_of(const room::event& e, const room::state& after) {
  return std::visit(
      [&](const auto& ev) -> std::optional<json> {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, room::room_created>) {
          auto j = room_event("room_created", after);
          j["name"] = ev.name;
          j["type"] = std::string(room::to_string(ev.type));
          json members = json::array();
          for (const auto& [a, m] : after.members) {
            members.push_back(
                json{{"account_id", a.value}, {"role", std::string(to_string(m.role))}});
          }
          j["members"] = std::move(members);
          return j;
        } else if constexpr (std::is_same_v<T, room::member_added>) {
          auto j = room_event("member_added", after);
          j["account_id"] = ev.account.value;
          j["role"] = std::string(to_string(ev.role));
          return j;
        } else if constexpr (std::is_same_v<T, room::member_removed>) {
          auto j = room_event("member_removed", after);
          j["account_id"] = ev.account.value;
          return j;
        } else if constexpr (std::is_same_v<T, room::message_posted>) {
          auto j = room_event("message_created", after);
          j["message"] = current_message(after, ev.id, ev.body, ev.author_name);
          return j;
        } else if constexpr (std::is_same_v<T, room::message_edited>) {
          auto j = room_event("message_updated", after);
          j["message"] = current_message(after, ev.id, ev.body, ev.author_name);
          return j;
        } else if constexpr (std::is_same_v<T, room::message_deleted>) {
          auto j = room_event("message_deleted", after);
          j["message_id"] = protocol::to_wire(ev.id);
          return j;
        } else if constexpr (std::is_same_v<T, room::room_updated>) {
          auto j = room_event("room_updated", after);
          j["name"] = ev.name;
          j["description"] = ev.description;
          j["icon_preset"] = ev.icon_preset;
          return j;
        } else if constexpr (std::is_same_v<T, room::room_deleted>) {
          return room_event("room_deleted", after);
        } else if constexpr (std::is_same_v<T, room::task_added> ||
                             std::is_same_v<T, room::task_status_changed>) {
          auto it = after.tasks.find(ev.id);
          if (it == after.tasks.end()) return std::nullopt;
          constexpr bool added = std::is_same_v<T, room::task_added>;
          auto j = room_event(added ? "task_added" : "task_updated", after);
          j["task"] = task_object(after.id, ev.id, it->second);
          return j;
        } else if constexpr (std::is_same_v<T, room::file_uploaded>) {
          auto it = after.files.find(ev.id);
          if (it == after.files.end()) return std::nullopt;
          auto j = room_event("file_uploaded", after);
          j["file"] = file_object(ev.id, it->second);
          return j;
        } else {
          // read_marked: the reader's own connections get a `read` reply. upload_requested,
          // upload_expired, file_removed: only the uploader and the sweeper care.
          return std::nullopt;
        }
      },
      e);
}

}  // namespace

std::optional<nlohmann::json> push_frame(const room::state& before, const room::event& e,
                                         const room::state& after) {
  (void)before;  // every field of the push is in the event or in the state after it
  return frame_of(e, after);
}

namespace {

/// Appends message `id`'s object as `current_message(after, id, body, name)` would dump (keys in
/// std::map order).
void append_current_message(std::string& out, const room::state& after, message_id id,
                            std::string_view body, std::string_view name) {
  account_id author;
  unix_time send_time = 0;
  unix_time update_time = 0;
  bool deleted = false;
  if (id && id <= after.last_message()) {
    const auto& meta = after.messages[id.value - 1];
    author = meta.author;
    send_time = meta.send_time;
    update_time = meta.update_time;
    deleted = meta.deleted;
  }
  if (deleted) body = {};  // a deleted message never shows its text (message_object)
  out += "{\"account\":{\"account_id\":";
  json_text::append_number(out, author.value);
  out += ",\"name\":";
  json_text::append_string(out, name);
  out += "},\"account_id\":";
  json_text::append_number(out, author.value);
  out += ",\"body\":";
  json_text::append_string(out, body);
  out += deleted ? ",\"deleted\":true" : ",\"deleted\":false";
  out += ",\"message_id\":";
  json_text::append_string(out, protocol::to_wire(id));
  out += ",\"send_time\":";
  json_text::append_number(out, static_cast<std::int64_t>(send_time));
  out += ",\"update_time\":";
  json_text::append_number(out, static_cast<std::int64_t>(update_time));
  out.push_back('}');
}

/// The history row of message `id`: detail::dump(current_message(...)) without the DOM.
std::string current_message_text(const room::state& after, message_id id, std::string_view body,
                                 std::string_view name) {
  std::string out;
  out.reserve(128 + body.size() + name.size());
  append_current_message(out, after, id, body, name);
  return out;
}

/// `{"ev":EV,"message":{...},"room_id":R,"seq":S}`: room_event(EV) with current_message's
/// object, as its DOM would dump.
std::string message_frame_text(std::string_view ev, const room::state& after, message_id id,
                               std::string_view body, std::string_view name) {
  std::string out;
  out.reserve(160 + body.size() + name.size());
  out += "{\"ev\":";
  json_text::append_string(out, ev);
  out += ",\"message\":";
  append_current_message(out, after, id, body, name);
  out += ",\"room_id\":";
  json_text::append_number(out, after.id.value);
  out += ",\"seq\":";
  json_text::append_number(out, after.seq);
  out.push_back('}');
  return out;
}

}  // namespace

std::optional<std::string> push_frame_text(const room::state& before, const room::event& e,
                                           const room::state& after) {
  (void)before;  // every field of the push is in the event or in the state after it
  return push_frame_text(e, after);
}

std::optional<std::string> push_frame_text(const room::event& e, const room::state& after) {
  if (const auto* p = std::get_if<room::message_posted>(&e))
    return message_frame_text("message_created", after, p->id, p->body, p->author_name);
  if (const auto* m = std::get_if<room::message_edited>(&e))
    return message_frame_text("message_updated", after, m->id, m->body, m->author_name);
  auto frame = frame_of(e, after);
  if (!frame) return std::nullopt;
  return detail::dump(*frame);
}

namespace {

/// The rows that depend on the event and the state after it only: history, room_events and
/// room_summary.
void project_event_rows(const room::event& e, const room::state& after, std::vector<row_op>& ops) {
  const room_id r = after.id;
  // The rows of a post or an edit, the most frequent events, are written without a DOM (the
  // same bytes: json_text.hpp).
  if (const auto* p = std::get_if<room::message_posted>(&e)) {
    ops.push_back({table::history, history_key(r, p->id),
                   current_message_text(after, p->id, p->body, p->author_name)});
  } else if (const auto* ed = std::get_if<room::message_edited>(&e)) {
    ops.push_back({table::history, history_key(r, ed->id),
                   current_message_text(after, ed->id, ed->body, ed->author_name)});
  } else if (const auto* d = std::get_if<room::message_deleted>(&e)) {
    ops.push_back(
        {table::history, history_key(r, d->id), detail::dump(current_message(after, d->id, ""))});
  }
  if (auto frame = push_frame_text(e, after)) {
    ops.push_back({table::room_events, room_event_key(r, after.seq), std::move(*frame)});
    // A deleted room has no summary: every read then answers not_found for it.
    if (after.removed) {
      ops.push_back({table::room_summary, room_summary_key(r), std::nullopt});
    } else {
      ops.push_back({table::room_summary, room_summary_key(r), encode(summary_of(after))});
    }
  }
}

}  // namespace

std::vector<row_op> project(const room::state& before, const room::event& e,
                            const room::state& after) {
  std::vector<row_op> ops;
  project_event_rows(e, after, ops);
  project_tasks(before, e, after, ops);
  project_files(e, after, ops);
  project_members(before, after, ops);
  return ops;
}

std::vector<row_op> project(const room::prior& before, const room::event& e,
                            const room::state& after) {
  if (before.copy) return project(*before.copy, e, after);
  // The events without a copy add no task, change none and remove nobody (room::needs_copy), so
  // project_tasks has nothing to write for them.
  std::vector<row_op> ops;
  project_event_rows(e, after, ops);
  project_files(e, after, ops);
  project_changed_members(before.members, after, ops);
  return ops;
}

json account_row(const user::state& s) {
  json account{{"account_id", s.id.value},
               {"name", s.name},
               {"chatwork_id", s.profile.chatwork_id},
               {"organization_name", s.profile.organization},
               {"department", s.profile.department},
               {"title", s.profile.title},
               {"introduction", s.profile.introduction}};
  if (s.disabled) account["disabled"] = true;
  return account;
}

std::vector<row_op> project(const user::state& before, const user::event& e,
                            const user::state& after) {
  std::vector<row_op> ops;
  // The REST fetch position lives in the entity only: it changes no row.
  if (std::holds_alternative<user::fetch_cursor_moved>(e)) return ops;
  // Contact events are about a pair, not about the owner's own row.
  if (const auto* q = std::get_if<user::contact_requested>(&e)) {
    ops.push_back(
        {table::contact_requests, contact_request_key(q->to, q->from),
         detail::dump(
             json{{"account_id", q->from.value}, {"message", q->message}, {"time", q->time}})});
    return ops;
  }
  if (const auto* r = std::get_if<user::contact_request_rejected>(&e)) {
    ops.push_back({table::contact_requests, contact_request_key(r->to, r->from), std::nullopt});
    return ops;
  }
  if (const auto* a = std::get_if<user::contact_accepted>(&e)) {
    ops.push_back(
        {table::contact_requests, contact_request_key(a->by, a->requester), std::nullopt});
    ops.push_back({table::contacts, contact_key(a->requester, a->by),
                   detail::dump(json{{"account_id", a->by.value}, {"room_id", a->room.value}})});
    ops.push_back(
        {table::contacts, contact_key(a->by, a->requester),
         detail::dump(json{{"account_id", a->requester.value}, {"room_id", a->room.value}})});
    return ops;
  }
  ops.push_back({table::accounts, account_key(after.id), detail::dump(account_row(after))});
  // The tokens table maps the hash of the account's live token to the account: the old hash
  // goes when the token is revoked or replaced, so the old token no longer authenticates.
  if (before.token_hash != after.token_hash) {
    if (!before.token_hash.empty()) ops.push_back({table::tokens, before.token_hash, std::nullopt});
    if (!after.token_hash.empty())
      ops.push_back({table::tokens, after.token_hash, std::to_string(after.id.value)});
  }
  return ops;
}

}  // namespace hibiki::read_model
