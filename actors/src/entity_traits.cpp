#include "entity_traits.hpp"

#include <cstdlib>
#include <memory>
#include <utility>

#include "hibiki/core/log.hpp"
#include "hibiki/core/protocol.hpp"
#include "hibiki/core/read_model_text.hpp"

namespace hibiki::actors {

namespace {

/// The number after the kind prefix of an entity id ("room-12" → 12); 0 when malformed.
std::uint64_t id_number(const entity_id& id) {
  auto dash = id.find('-');
  if (dash == entity_id::npos) return 0;
  return std::strtoull(id.c_str() + dash + 1, nullptr, 10);
}

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

}  // namespace

// ---- audit --------------------------------------------------------------------------------------

void write_audit(const audit_entry& a) {
  if (a.event == "role_changed") {
    log::audit(a.event, {{"room", a.room},
                         {"account", a.account},
                         {"from_role", a.from_role},
                         {"role", a.role},
                         {"by", a.by}});
  } else if (a.role.empty()) {
    log::audit(a.event, {{"room", a.room}, {"account", a.account}, {"by", a.by}});
  } else {
    log::audit(a.event, {{"room", a.room}, {"account", a.account}, {"role", a.role}, {"by", a.by}});
  }
}

// ---- room ---------------------------------------------------------------------------------------

room::state room_traits::initial(const entity_id& id) {
  room::state s;
  s.id = room_id{id_number(id)};
  return s;
}

result<plan<room::event>> room_traits::decide(const state& s, const command& cmd) {
  auto d = room::decide(s, cmd);
  if (!d) return d.error();
  plan<event> p;
  p.events = std::move(d->events);
  if (d->duplicate_of) {
    p.immediate = command_reply::ok(
        {{"message_id", protocol::to_wire(d->duplicate_of->id)}, {"seq", d->duplicate_of->seq}});
  }
  return p;
}

namespace {

/// room_traits::effects from the full state before the event or from its prior (the same effects).
template <class Before>
void room_effects(const Before& before, const room::event& e, const room::state& after,
                  std::vector<read_model::row_op>& rows, std::vector<push_msg>& pushes) {
  auto ops = read_model::project(before, e, after);
  rows.insert(rows.end(), std::make_move_iterator(ops.begin()), std::make_move_iterator(ops.end()));
  if (auto frame = read_model::push_frame_text(e, after)) {
    pushes.push_back(push_msg{std::make_shared<const std::string>(std::move(*frame)),
                              room::recipients(before, e, after), 0,
                              std::holds_alternative<room::room_created>(e)});
  }
}

}  // namespace

void room_traits::effects(const state& before, const event& e, const state& after,
                          std::vector<read_model::row_op>& rows, std::vector<push_msg>& pushes) {
  room_effects(before, e, after, rows, pushes);
}

void room_traits::effects(const room::prior& before, const event& e, const state& after,
                          std::vector<read_model::row_op>& rows, std::vector<push_msg>& pushes) {
  room_effects(before, e, after, rows, pushes);
}

void room_traits::audit_entries(const room::prior& before, const event& e,
                                std::vector<audit_entry>& out) {
  // Only membership and role changes have audit entries, and those events keep a copy.
  if (before.copy) audit_entries(*before.copy, e, out);
}

void room_traits::audit_entries(const state& before, const event& e,
                                std::vector<audit_entry>& out) {
  const auto room = before.id.value;
  if (auto* c = std::get_if<room::room_created>(&e)) {
    out.push_back({"room_created",
                   c->room.value,
                   c->creator.value,
                   c->creator.value,
                   to_string(role::admin),
                   {}});
    for (auto a : c->members)
      if (a != c->creator)
        out.push_back({"member_added",
                       c->room.value,
                       a.value,
                       c->creator.value,
                       to_string(role::member),
                       {}});
  } else if (auto* m = std::get_if<room::member_added>(&e)) {
    if (const auto* was = before.member(m->account)) {
      if (was->role != m->role)
        out.push_back({"role_changed", room, m->account.value, m->by.value, to_string(m->role),
                       to_string(was->role)});
    } else {
      out.push_back({"member_added", room, m->account.value, m->by.value, to_string(m->role), {}});
    }
  } else if (auto* d = std::get_if<room::room_deleted>(&e)) {
    out.push_back({"room_deleted", room, d->by.value, d->by.value, {}, {}});
  } else if (auto* r = std::get_if<room::member_removed>(&e)) {
    out.push_back({r->by == r->account ? "member_left" : "member_removed",
                   room,
                   r->account.value,
                   r->by.value,
                   {},
                   {}});
  }
}

nlohmann::json room_traits::reply_fields(const command& cmd, const std::vector<event>& events,
                                         const state& after) {
  return std::visit(
      overloaded{
          [&](const room::create_room&) -> nlohmann::json {
            return {{"room_id", after.id.value}};
          },
          [&](const room::send_message&) -> nlohmann::json {
            message_id id = after.last_message();
            for (const auto& e : events)
              if (auto* p = std::get_if<room::message_posted>(&e)) id = p->id;
            return {{"message_id", protocol::to_wire(id)}, {"seq", after.seq}};
          },
          [&](const room::edit_message&) -> nlohmann::json {
            return {{"seq", after.seq}};
          },
          [&](const room::delete_message&) -> nlohmann::json {
            return {{"seq", after.seq}};
          },
          [&](const room::mark_read& m) -> nlohmann::json {
            return {{"unread_num", room::unread_num(after, m.actor)},
                    {"mention_num", room::mention_num(after, m.actor)}};
          },
          [&](const room::mark_unread& m) -> nlohmann::json {
            return {{"unread_num", room::unread_num(after, m.actor)},
                    {"mention_num", room::mention_num(after, m.actor)}};
          },
          [&](const room::get_room& q) -> nlohmann::json {
            return {{"room", read_model::room_info(after, q.actor)}};
          },
          [&](const room::get_members&) -> nlohmann::json {
            return {{"members", read_model::member_list(after)}};
          },
          [&](const room::update_room&) -> nlohmann::json {
            return {{"room_id", after.id.value}, {"seq", after.seq}};
          },
          [&](const room::delete_room&) -> nlohmann::json {
            return {{"room_id", after.id.value}, {"seq", after.seq}};
          },
          [&](const room::add_task&) -> nlohmann::json {
            nlohmann::json ids = nlohmann::json::array();
            message_id shown;
            for (const auto& e : events) {
              if (auto* t = std::get_if<room::task_added>(&e)) ids.push_back(t->id.value);
              if (auto* p = std::get_if<room::message_posted>(&e)) shown = p->id;
            }
            return {{"task_ids", std::move(ids)},
                    {"message_id", protocol::to_wire(shown)},
                    {"seq", after.seq}};
          },
          [&](const room::set_task_status& c) -> nlohmann::json {
            return {{"task_id", c.task.value}, {"seq", after.seq}};
          },
          [&](const room::get_task& q) -> nlohmann::json {
            return {{"task", read_model::task_object(after.id, q.task, after.tasks.at(q.task))}};
          },
          [&](const room::list_tasks& q) -> nlohmann::json {
            return {{"tasks", read_model::task_list(after, q)}};
          },
          [&](const room::set_members&) -> nlohmann::json {
            auto j = read_model::members_by_role(after);
            j["seq"] = after.seq;
            return j;
          },
          // The object key goes to the node only: the session signs a URL with it and answers
          // the client without it.
          [&](const room::request_upload&) -> nlohmann::json {
            for (const auto& e : events) {
              if (const auto* u = std::get_if<room::upload_requested>(&e)) {
                return {{"file_id", u->id.value},
                        {"expires_at", u->expires_at},
                        {"object_key", u->object_key},
                        {"size", u->size},
                        {"content_type", u->content_type}};
              }
            }
            return nullptr;
          },
          [&](const room::check_upload& c) -> nlohmann::json {
            const auto& f = after.files.at(c.file);
            return {{"object_key", f.object_key}, {"size", f.size}};
          },
          [&](const room::complete_upload& c) -> nlohmann::json {
            const auto& f = after.files.at(c.file);
            return {{"message_id", protocol::to_wire(f.message)}, {"seq", f.upload_seq}};
          },
          [&](const room::retire_file& c) -> nlohmann::json {
            auto it = after.files.find(c.file);
            if (it == after.files.end()) return {{"remove", false}};
            return {{"remove", room::removable(it->second, c.now, c.grace)},
                    {"object_key", it->second.object_key}};
          },
          // The token is answered once, to the admin who created the webhook.
          [&](const room::create_webhook&) -> nlohmann::json {
            for (const auto& e : events) {
              if (const auto* w = std::get_if<room::webhook_created>(&e)) {
                return {{"webhook_id", w->id.value}, {"token", w->token}};
              }
            }
            return nullptr;
          },
          [&](const room::list_webhooks&) -> nlohmann::json {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& [id, w] : after.webhooks) {
              nlohmann::json names = nlohmann::json::array();
              for (const auto e : w.events) names.push_back(std::string(room::to_string(e)));
              list.push_back({{"webhook_id", id.value},
                              {"url", w.url},
                              {"events", std::move(names)},
                              {"created_by", w.by.value},
                              {"created_at", w.created_at}});
            }
            return {{"webhooks", std::move(list)}};
          },
          [&](const room::delete_webhook& c) -> nlohmann::json {
            return {{"webhook_id", c.webhook.value}};
          },
          [&](const auto&) -> nlohmann::json { return nullptr; },
      },
      cmd);
}

// ---- user ---------------------------------------------------------------------------------------

user::state user_traits::initial(const entity_id& id) {
  user::state s;
  s.id = account_id{id_number(id)};
  return s;
}

result<plan<user::event>> user_traits::decide(const state& s, const command& cmd) {
  auto d = user::decide(s, cmd);
  if (!d) return d.error();
  plan<event> p;
  p.events = std::move(*d);
  return p;
}

void user_traits::effects(const state& before, const event& e, const state& after,
                          std::vector<read_model::row_op>& rows, std::vector<push_msg>& pushes) {
  auto ops = read_model::project(before, e, after);
  rows.insert(rows.end(), std::make_move_iterator(ops.begin()), std::make_move_iterator(ops.end()));
  // A connection authenticates once: when the account may no longer use the token it connected
  // with, its live connections are closed (after the rows are durable, like every push).
  std::string reason;
  if (std::holds_alternative<user::account_disabled>(e)) {
    reason = "account disabled";
  } else if (std::holds_alternative<user::tokens_revoked>(e)) {
    reason = "token revoked";
  } else if (std::holds_alternative<user::token_issued>(e) && !before.token_hash.empty()) {
    reason = "token replaced";
  }
  // Contacts: the account asked learns of the request; both learn of the new contact (the
  // direct room's own room_created follows once the room exists).
  if (const auto* q = std::get_if<user::contact_requested>(&e)) {
    nlohmann::json fields = {{"request_id", q->from.value},
                             {"account_id", q->from.value},
                             {"message", q->message},
                             {"time", q->time}};
    pushes.push_back(push_msg{
        std::make_shared<const std::string>(protocol::encode_event("contact_request", fields)),
        {q->to}});
  } else if (const auto* a = std::get_if<user::contact_accepted>(&e)) {
    for (const auto& [to, other] :
         {std::pair{a->requester, a->by}, std::pair{a->by, a->requester}}) {
      nlohmann::json fields = {{"account_id", other.value}, {"room_id", a->room.value}};
      pushes.push_back(push_msg{
          std::make_shared<const std::string>(protocol::encode_event("contact_added", fields)),
          {to}});
    }
  }
  // A rename reaches every connection of the account and of everyone who shares a room, a
  // contact or a contact request with it; the audience is found after the append is durable.
  if (const auto* r = std::get_if<user::account_renamed>(&e); r && before.name != r->name) {
    nlohmann::json fields = {{"account", {{"account_id", after.id.value}, {"name", r->name}}}};
    push_msg renamed{
        std::make_shared<const std::string>(protocol::encode_event("account_updated", fields)),
        {after.id}};
    renamed.to_origin = true;
    renamed.audience_of = after.id;
    renamed.renamed = after.id;
    renamed.new_name = r->name;
    pushes.push_back(std::move(renamed));
  }
  if (!reason.empty()) {
    push_msg close;
    close.recipients = {after.id};
    close.close_code = protocol::close_policy;
    close.close_reason = std::move(reason);
    pushes.push_back(std::move(close));
  }
}

nlohmann::json user_traits::reply_fields(const command& cmd, const std::vector<event>&,
                                         const state& after) {
  if (std::holds_alternative<user::get_profile>(cmd) ||
      std::holds_alternative<user::update_profile>(cmd) ||
      std::holds_alternative<user::assign_my_room>(cmd)) {
    return me_fields(after);
  }
  if (const auto* a = std::get_if<user::accept_contact>(&cmd)) {
    const auto* pair = user::find_pair(after, a->actor == after.id ? a->requester : a->actor);
    return {{"room_id", pair != nullptr ? pair->room.value : 0}};
  }
  if (std::holds_alternative<user::request_contact>(cmd) ||
      std::holds_alternative<user::reject_contact>(cmd)) {
    return nullptr;
  }
  room_id fetch_room;
  if (const auto* m = std::get_if<user::move_fetch_cursor>(&cmd)) fetch_room = m->room;
  if (const auto* p = std::get_if<user::peek_fetch_cursor>(&cmd)) fetch_room = p->room;
  if (fetch_room) {
    auto it = after.fetch_cursors.find(fetch_room);
    return {{"fetched_up_to", it == after.fetch_cursors.end() ? 0 : it->second.value}};
  }
  return {{"account_id", after.id.value}, {"name", after.name}, {"disabled", after.disabled}};
}

nlohmann::json me_fields(const user::state& s) {
  auto j = read_model::account_row(s);
  j.erase("disabled");
  j["room_id"] = s.my_room.value;
  return j;
}

// ---- id allocator -------------------------------------------------------------------------------

result<plan<id_allocated>> id_traits::decide(const state&, const command& cmd) {
  plan<event> p;
  if (std::holds_alternative<allocate_id>(cmd)) p.events.push_back(id_allocated{});
  return p;
}

codec::bytes id_traits::encode(const event&) {
  return nlohmann::json::to_cbor(nlohmann::json{{"t", "ids.allocated"}, {"v", 1}});
}

result<id_allocated> id_traits::decode(std::span<const std::uint8_t> b) {
  auto j = nlohmann::json::from_cbor(b.begin(), b.end(), true, false);
  if (j.is_discarded() || !j.is_object() || j.value("t", "") != "ids.allocated")
    return hibiki::error{errc::internal, "not an id allocation event"};
  return id_allocated{};
}

codec::bytes id_traits::encode_snapshot(const state& s) {
  return nlohmann::json::to_cbor(nlohmann::json{{"highest", s.highest}});
}

result<id_state> id_traits::decode_snapshot(std::span<const std::uint8_t> b) {
  auto j = nlohmann::json::from_cbor(b.begin(), b.end(), true, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("highest"))
    return hibiki::error{errc::internal, "bad id allocator snapshot"};
  return id_state{j["highest"].get<std::uint64_t>()};
}

nlohmann::json id_traits::reply_fields(const command& cmd, const std::vector<event>&,
                                       const state& after) {
  if (std::holds_alternative<allocate_id>(cmd)) return {{"id", after.highest}};
  return {{"highest", after.highest}};
}

std::string id_traits::encode_command(const command& c) {
  return nlohmann::json{{"t", std::holds_alternative<allocate_id>(c) ? "ids.allocate" : "ids.peek"}}
      .dump();
}

result<id_command> id_traits::decode_command(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.size() == 1) {
    auto t = j.find("t");
    if (t != j.end() && *t == "ids.allocate") return id_command{allocate_id{}};
    if (t != j.end() && *t == "ids.peek") return id_command{peek_ids{}};
  }
  return hibiki::error{errc::bad_request, "not an id allocator command"};
}

result<recovery<id_state>> id_traits::recover(const node_context& ctx, const entity_id& id) {
  auto high = ctx.deps.journal->highest_seq(id);
  if (!high) return high.error();
  return recovery<id_state>{id_state{*high}, *high, 0};
}

}  // namespace hibiki::actors
