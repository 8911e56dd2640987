/// The JSON rows of the read side and the room listing computed from them.

#include <algorithm>

#include "flat_row.hpp"
#include "hibiki/core/protocol.hpp"
#include "hibiki/core/read_model.hpp"
#include "json_fields.hpp"

namespace hibiki::read_model {

namespace {

using nlohmann::json;

json ids_json(const std::vector<message_id>& ids) {
  json arr = json::array();
  for (const auto id : ids) arr.push_back(id.value);
  return arr;
}

hibiki::error corrupt(std::string_view what) {
  return {errc::internal, "corrupt " + std::string(what) + " row"};
}

}  // namespace

std::string encode(const room_summary& s) {
  // Every my_status and list_rooms reads one of these per room of the reader: the newer fields
  // keep the row short ("updated"; "icon" only when it is not the default).
  json row{{"room_id", s.room.value},
           {"name", s.name},
           {"type", std::string(room::to_string(s.type))},
           {"task_num", s.task_num},
           {"last_seq", s.last_seq},
           {"last_message", s.last_message.value},
           {"deleted", ids_json(s.deleted)},
           {"updated", s.last_update_time}};
  if (s.icon_preset != room::default_icon_preset) row["icon"] = s.icon_preset;
  if (s.file_num != 0) row["files"] = s.file_num;
  return detail::dump(row);
}

std::string encode(const member_row& m) {
  return detail::dump(json{{"room_id", m.room.value},
                           {"role", std::string(to_string(m.role))},
                           {"read_up_to", m.read_up_to.value},
                           {"pending_mentions", ids_json(m.pending_mentions)},
                           {"mytask_num", m.mytask_num}});
}

namespace {

using flat = detail::flat_field::kind;

std::optional<std::uint64_t> flat_u64(const detail::flat_field& f) {
  if (f.type != flat::unsigned_) return std::nullopt;
  return f.number;
}

std::optional<std::vector<message_id>> flat_ids(detail::flat_field& f) {
  if (f.type != flat::id_array) return std::nullopt;
  std::vector<message_id> out;
  out.reserve(f.ids.size());
  for (auto id : f.ids) out.push_back(message_id{id});
  return out;
}

}  // namespace

result<room_summary> decode_room_summary(std::string_view text) {
  static constexpr std::string_view names[] = {"room_id", "name", "last_seq", "last_message",
                                               "deleted", "type", "task_num", "updated",
                                               "icon",    "files"};
  detail::flat_field f[std::size(names)];
  if (!detail::read_flat_object(text, names, f)) return corrupt("room_summary");
  auto room = flat_u64(f[0]);
  auto last_seq = flat_u64(f[2]);
  auto last_message = flat_u64(f[3]);
  auto deleted = flat_ids(f[4]);
  if (!room || f[1].type != flat::string || !last_seq || !last_message || !deleted)
    return corrupt("room_summary");
  room_summary out{room_id{*room}, std::move(f[1].text), *last_seq, message_id{*last_message},
                   std::move(*deleted)};
  // Rows written before rooms had types have no "type": they are group rooms.
  if (f[5].type != flat::missing) {
    auto type = f[5].type == flat::string ? room::parse_room_type(f[5].text) : std::nullopt;
    if (!type) return corrupt("room_summary");
    out.type = *type;
  }
  if (f[6].type != flat::missing) {
    auto n = flat_u64(f[6]);
    if (!n) return corrupt("room_summary");
    out.task_num = static_cast<std::size_t>(*n);
  }
  // Rows written before these two were kept: 0 ("not known yet") and the default icon, until the
  // room's next event rewrites its row; a row of a room with the default icon has no "icon".
  if (f[7].type != flat::missing) {
    auto t = flat_u64(f[7]);
    if (!t) return corrupt("room_summary");
    out.last_update_time = static_cast<unix_time>(*t);
  }
  // Any text is kept: a preset this build does not know (a newer server's) is shown as the
  // default by the readers that draw it, rather than failing the whole room list.
  if (f[8].type != flat::missing) {
    if (f[8].type != flat::string) return corrupt("room_summary");
    out.icon_preset = std::move(f[8].text);
  }
  // "files" only when the room has visible files (and not in rows written before they counted).
  if (f[9].type != flat::missing) {
    auto n = flat_u64(f[9]);
    if (!n) return corrupt("room_summary");
    out.file_num = static_cast<std::size_t>(*n);
  }
  return out;
}

result<member_row> decode_member_row(std::string_view text) {
  static constexpr std::string_view names[] = {"room_id", "role", "read_up_to", "pending_mentions",
                                               "mytask_num"};
  detail::flat_field f[std::size(names)];
  if (!detail::read_flat_object(text, names, f)) return corrupt("member_rooms");
  auto room = flat_u64(f[0]);
  auto role = f[1].type == flat::string ? parse_role(f[1].text) : std::nullopt;
  auto read = flat_u64(f[2]);
  auto pending = flat_ids(f[3]);
  if (!room || !role || !read || !pending) return corrupt("member_rooms");
  member_row out{room_id{*room}, *role, message_id{*read}, std::move(*pending)};
  // Rows written before tasks have no "mytask_num": no tasks.
  if (f[4].type != flat::missing) {
    auto n = flat_u64(f[4]);
    if (!n) return corrupt("member_rooms");
    out.mytask_num = static_cast<std::size_t>(*n);
  }
  return out;
}

room_listing listing(const member_row& m, const room_summary& s) {
  const auto is_deleted = [&](message_id id) {
    return std::binary_search(s.deleted.begin(), s.deleted.end(), id);
  };
  room_listing l;
  l.room = m.room;
  l.name = s.name;
  l.type = s.type;
  l.role = m.role;
  l.task_num = s.task_num;
  l.mytask_num = m.mytask_num;
  l.last_seq = s.last_seq;
  l.last_update_time = s.last_update_time;
  l.icon_preset = s.icon_preset;
  l.file_num = s.file_num;
  l.message_num =
      s.last_message.value - std::min<std::size_t>(s.deleted.size(), s.last_message.value);
  if (s.last_message > m.read_up_to) {
    const auto deleted_after = static_cast<std::size_t>(
        s.deleted.end() - std::upper_bound(s.deleted.begin(), s.deleted.end(), m.read_up_to));
    l.unread_num = (s.last_message.value - m.read_up_to.value) - deleted_after;
  }
  l.mention_num = static_cast<std::size_t>(
      std::count_if(m.pending_mentions.begin(), m.pending_mentions.end(),
                    [&](message_id id) { return id > m.read_up_to && !is_deleted(id); }));
  return l;
}

nlohmann::json to_json(const room_listing& l, bool details) {
  json j{{"room_id", l.room.value},
         {"name", l.name},
         {"role", std::string(to_string(l.role))},
         {"unread_num", l.unread_num},
         {"mention_num", l.mention_num},
         {"message_num", l.message_num},
         {"last_seq", l.last_seq}};
  if (details) {
    j["type"] = std::string(room::to_string(l.type));
    j["task_num"] = l.task_num;
    j["mytask_num"] = l.mytask_num;
    j["file_num"] = l.file_num;
    j["icon_preset"] = l.icon_preset;
    j["last_update_time"] = l.last_update_time;
  }
  return j;
}

nlohmann::json message_object(message_id id, account_id author, std::string_view body,
                              unix_time send_time, unix_time update_time, bool deleted,
                              std::string_view author_name) {
  // A deleted message keeps its id but never its text, whatever the caller passes.
  return json{{"message_id", protocol::to_wire(id)},
              {"account_id", author.value},
              {"account", json{{"account_id", author.value}, {"name", std::string(author_name)}}},
              {"body", deleted ? std::string() : std::string(body)},
              {"send_time", send_time},
              {"update_time", update_time},
              {"deleted", deleted}};
}

}  // namespace hibiki::read_model

namespace hibiki::read_model {

void name_refresher::refresh_person(nlohmann::json& person) {
  if (!person.is_object()) return;
  auto id = detail::get_u64(person, "account_id");
  if (!id || *id == 0) return;
  auto it = known_.find(*id);
  if (it == known_.end()) it = known_.emplace(*id, lookup_(account_id{*id})).first;
  if (it->second) person["name"] = *it->second;
}

void name_refresher::refresh(nlohmann::json& message) {
  auto account = message.find("account");
  if (account == message.end()) return;
  refresh_person(*account);
}

std::optional<std::string> name_refresher::refresh_frame(std::string_view frame) {
  // Only message and task frames carry names; the others pass untouched without being parsed.
  const bool message_frame = frame.find("\"message\":{") != std::string_view::npos;
  const bool task_frame = !message_frame && frame.find("\"task\":{") != std::string_view::npos;
  if (!message_frame && !task_frame) return std::nullopt;
  auto j = json::parse(frame, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto object = j.find(message_frame ? "message" : "task");
  if (object == j.end() || !object->is_object()) return std::nullopt;
  const auto before = *object;
  if (message_frame) {
    refresh(*object);
  } else {
    for (const char* who : {"account", "assigned_by_account"})
      if (auto p = object->find(who); p != object->end()) refresh_person(*p);
  }
  if (*object == before) return std::nullopt;
  return detail::dump(j);
}

}  // namespace hibiki::read_model
