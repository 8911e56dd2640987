/// Event encoding: each event is a CBOR map {"t": type, "v": version, fields...}. The field names
/// are part of the journal format: renaming one needs a new version and an upcaster. Decoding
/// reads the current version straight from the bytes (codec_direct.hpp) and everything else
/// through the document (parse, upcast, read); one template maps fields to events for both.

#include <type_traits>

#include "codec_direct.hpp"
#include "codec_dom.hpp"
#include "codec_reader.hpp"
#include "codec_upcast.hpp"
#include "hibiki/core/codec.hpp"

namespace hibiki::codec {

namespace {

using detail::direct_field_reader;
using detail::field_reader;
using detail::top_level_fields;
using nlohmann::json;

json id_array(const auto& ids) {
  json arr = json::array();
  for (const auto& id : ids) arr.push_back(id.value);
  return arr;
}

/// room.message_posted and room.message_edited v2 carry the author's name. A v1 event was
/// written before names were in messages: its name is empty, and readers fill in the current one.
[[maybe_unused]] const bool message_events_v2 = [] {
  for (const char* type : {"room.message_posted", "room.message_edited"})
    register_upcaster(type, 1, [](json& j) { j["author_name"] = ""; });
  return true;
}();

/// room.task_added v2 carries the message that shows the task and the two names. A v1 task was
/// added before tasks posted a message: it has none (0), and no names ("").
[[maybe_unused]] const bool task_added_v2 = [] {
  register_upcaster("room.task_added", 1, [](json& j) {
    j["message"] = 0;
    j["assignee_name"] = "";
    j["by_name"] = "";
  });
  return true;
}();

/// An id field (the same for both readers; free functions, so the readers' templates need no
/// `template` keyword at each use).
template <class Id, class Reader>
Id read_id(Reader& r, std::string_view key) {
  return Id{r.u64(key)};
}

template <class Id, class Reader>
std::vector<Id> read_ids(Reader& r, std::string_view key) {
  return r.template ids<Id>(key);
}

json header(const std::string& type) {
  return json{{"t", type}, {"v", current_version(type)}};
}

// ---- room events -------------------------------------------------------------------------------

/// room.room_created v2 added "type". Every room made before it was a group room.
[[maybe_unused]] const bool room_created_v2 = [] {
  register_upcaster("room.room_created", 1, [](json& j) { j["type"] = "group"; });
  return true;
}();

template <class Reader>
room::room_type read_room_type(Reader& r, std::string_view key) {
  auto t = room::parse_room_type(r.str(key));
  if (!t) r.miss(key);
  return t.value_or(room::room_type::group);
}

constexpr const char* room_type_name(const room::event& e) {
  constexpr const char* names[] = {
      "room.room_created",     "room.member_added",        "room.member_removed",
      "room.message_posted",   "room.message_edited",      "room.message_deleted",
      "room.read_marked",      "room.room_updated",        "room.room_deleted",
      "room.task_added",       "room.task_status_changed", "room.unread_marked",
      "room.upload_requested", "room.file_uploaded",       "room.upload_expired",
      "room.file_removed",     "room.webhook_created",     "room.webhook_deleted"};
  static_assert(std::variant_size_v<room::event> == std::size(names));
  return names[e.index()];
}

void put_fields(json& j, const room::room_created& e) {
  j["room"] = e.room.value;
  j["name"] = e.name;
  j["description"] = e.description;
  j["creator"] = e.creator.value;
  j["members"] = id_array(e.members);
  j["time"] = e.time;
  j["type"] = std::string(room::to_string(e.type));
}
void put_fields(json& j, const room::member_added& e) {
  j["account"] = e.account.value;
  j["role"] = to_string(e.role);
  j["by"] = e.by.value;
}
void put_fields(json& j, const room::member_removed& e) {
  j["account"] = e.account.value;
  j["by"] = e.by.value;
}
void put_fields(json& j, const room::message_posted& e) {
  j["id"] = e.id.value;
  j["author"] = e.author.value;
  j["body"] = e.body;
  j["client_msg_id"] = e.client_msg_id;
  j["time"] = e.time;
  j["mentions"] = id_array(e.mentions);
  j["author_name"] = e.author_name;
}
void put_fields(json& j, const room::message_edited& e) {
  j["id"] = e.id.value;
  j["body"] = e.body;
  j["time"] = e.time;
  j["mentions"] = id_array(e.mentions);
  j["author_name"] = e.author_name;
}
void put_fields(json& j, const room::message_deleted& e) {
  j["id"] = e.id.value;
  j["time"] = e.time;
}
void put_fields(json& j, const room::read_marked& e) {
  j["account"] = e.account.value;
  j["up_to"] = e.up_to.value;
}

void put_fields(json& j, const room::room_updated& e) {
  j["name"] = e.name;
  j["description"] = e.description;
  j["icon_preset"] = e.icon_preset;
  j["by"] = e.by.value;
  j["time"] = e.time;
}
void put_fields(json& j, const room::room_deleted& e) {
  j["by"] = e.by.value;
  j["time"] = e.time;
}

void put_fields(json& j, const room::task_added& e) {
  j["id"] = e.id.value;
  j["assignee"] = e.assignee.value;
  j["by"] = e.by.value;
  j["body"] = e.body;
  j["limit"] = e.limit;
  j["limit_type"] = std::string(room::to_string(e.limit_type));
  j["time"] = e.time;
  j["message"] = e.message.value;
  j["assignee_name"] = e.assignee_name;
  j["by_name"] = e.by_name;
}
void put_fields(json& j, const room::task_status_changed& e) {
  j["id"] = e.id.value;
  j["status"] = std::string(room::to_string(e.status));
  j["by"] = e.by.value;
  j["time"] = e.time;
}

void put_fields(json& j, const room::unread_marked& e) {
  j["account"] = e.account.value;
  j["up_to"] = e.up_to.value;
}

void put_fields(json& j, const room::upload_requested& e) {
  j["id"] = e.id.value;
  j["account"] = e.account.value;
  j["filename"] = e.filename;
  j["size"] = e.size;
  j["content_type"] = e.content_type;
  j["object_key"] = e.object_key;
  j["time"] = e.time;
  j["expires_at"] = e.expires_at;
}
void put_fields(json& j, const room::file_uploaded& e) {
  j["id"] = e.id.value;
  j["message"] = e.message.value;
  j["time"] = e.time;
}
void put_fields(json& j, const room::upload_expired& e) {
  j["id"] = e.id.value;
  j["time"] = e.time;
}
void put_fields(json& j, const room::file_removed& e) {
  j["id"] = e.id.value;
}
void put_fields(json& j, const room::webhook_created& e) {
  j["id"] = e.id.value;
  j["url"] = e.url;
  json events = json::array();
  for (const auto ev : e.events) events.push_back(std::string(room::to_string(ev)));
  j["events"] = std::move(events);
  j["token"] = e.token;
  j["by"] = e.by.value;
  j["time"] = e.time;
}
void put_fields(json& j, const room::webhook_deleted& e) {
  j["id"] = e.id.value;
  j["by"] = e.by.value;
  j["time"] = e.time;
}

/// The webhook events a setting asks for, by name (a name no longer known fails the read).
template <class Reader>
std::vector<room::webhook_event> read_webhook_events(Reader& r, std::string_view key) {
  std::vector<room::webhook_event> out;
  const auto names = r.strings(key);
  out.reserve(names.size());
  for (const auto& name : names) {
    auto e = room::parse_webhook_event(name);
    if (!e) {
      r.miss(key);
      return {};
    }
    out.push_back(*e);
  }
  return out;
}

template <class Reader>
room::limit_type read_limit_type(Reader& r, std::string_view key) {
  auto t = room::parse_limit_type(r.str(key));
  if (!t) r.miss(key);
  return t.value_or(room::limit_type::none);
}

template <class Reader>
room::task_status read_task_status(Reader& r, std::string_view key) {
  auto t = room::parse_task_status(r.str(key));
  if (!t) r.miss(key);
  return t.value_or(room::task_status::open);
}

template <class Reader>
result<room::event> read_room_event(std::string_view type, Reader& r) {
  room::event e;
  if (type == "room.room_created") {
    room::room_created c{read_id<room_id>(r, "room"),
                         r.str("name"),
                         r.str("description"),
                         read_id<account_id>(r, "creator"),
                         read_ids<account_id>(r, "members"),
                         r.i64("time")};
    c.type = read_room_type(r, "type");
    e = std::move(c);
  } else if (type == "room.member_added") {
    e = room::member_added{read_id<account_id>(r, "account"), r.role("role"),
                           read_id<account_id>(r, "by")};
  } else if (type == "room.member_removed") {
    e = room::member_removed{read_id<account_id>(r, "account"), read_id<account_id>(r, "by")};
  } else if (type == "room.message_posted") {
    e = room::message_posted{read_id<message_id>(r, "id"),
                             read_id<account_id>(r, "author"),
                             r.str("body"),
                             r.str("client_msg_id"),
                             r.i64("time"),
                             read_ids<account_id>(r, "mentions"),
                             r.str("author_name")};
  } else if (type == "room.message_edited") {
    e = room::message_edited{read_id<message_id>(r, "id"), r.str("body"), r.i64("time"),
                             read_ids<account_id>(r, "mentions"), r.str("author_name")};
  } else if (type == "room.message_deleted") {
    e = room::message_deleted{read_id<message_id>(r, "id"), r.i64("time")};
  } else if (type == "room.read_marked") {
    e = room::read_marked{read_id<account_id>(r, "account"), read_id<message_id>(r, "up_to")};
  } else if (type == "room.room_updated") {
    e = room::room_updated{r.str("name"), r.str("description"), r.str("icon_preset"),
                           read_id<account_id>(r, "by"), r.i64("time")};
  } else if (type == "room.room_deleted") {
    e = room::room_deleted{read_id<account_id>(r, "by"), r.i64("time")};
  } else if (type == "room.unread_marked") {
    e = room::unread_marked{read_id<account_id>(r, "account"), read_id<message_id>(r, "up_to")};
  } else if (type == "room.task_added") {
    room::task_added t;
    t.id = read_id<task_id>(r, "id");
    t.assignee = read_id<account_id>(r, "assignee");
    t.by = read_id<account_id>(r, "by");
    t.body = r.str("body");
    t.limit = r.i64("limit");
    t.limit_type = read_limit_type(r, "limit_type");
    t.time = r.i64("time");
    t.message = read_id<message_id>(r, "message");
    t.assignee_name = r.str("assignee_name");
    t.by_name = r.str("by_name");
    e = std::move(t);
  } else if (type == "room.task_status_changed") {
    e = room::task_status_changed{read_id<task_id>(r, "id"), read_task_status(r, "status"),
                                  read_id<account_id>(r, "by"), r.i64("time")};
  } else if (type == "room.upload_requested") {
    room::upload_requested u;
    u.id = read_id<file_id>(r, "id");
    u.account = read_id<account_id>(r, "account");
    u.filename = r.str("filename");
    u.size = r.u64("size");
    u.content_type = r.str("content_type");
    u.object_key = r.str("object_key");
    u.time = r.i64("time");
    u.expires_at = r.i64("expires_at");
    e = std::move(u);
  } else if (type == "room.file_uploaded") {
    e = room::file_uploaded{read_id<file_id>(r, "id"), read_id<message_id>(r, "message"),
                            r.i64("time")};
  } else if (type == "room.upload_expired") {
    e = room::upload_expired{read_id<file_id>(r, "id"), r.i64("time")};
  } else if (type == "room.file_removed") {
    e = room::file_removed{read_id<file_id>(r, "id")};
  } else if (type == "room.webhook_created") {
    room::webhook_created w;
    w.id = read_id<webhook_id>(r, "id");
    w.url = r.str("url");
    w.events = read_webhook_events(r, "events");
    w.token = r.str("token");
    w.by = read_id<account_id>(r, "by");
    w.time = r.i64("time");
    e = std::move(w);
  } else if (type == "room.webhook_deleted") {
    e = room::webhook_deleted{read_id<webhook_id>(r, "id"), read_id<account_id>(r, "by"),
                              r.i64("time")};
  } else {
    return hibiki::error{errc::bad_request,
                         "unknown room event type \"" + std::string(type) + "\""};
  }
  if (!r.ok()) return r.failure(type);
  return e;
}

// ---- user events -------------------------------------------------------------------------------

constexpr const char* user_type_name(const user::event& e) {
  constexpr const char* names[] = {
      "user.account_registered", "user.account_renamed",          "user.account_disabled",
      "user.account_enabled",    "user.tokens_revoked",           "user.token_issued",
      "user.fetch_cursor_moved", "user.profile_updated",          "user.my_room_assigned",
      "user.contact_requested",  "user.contact_request_rejected", "user.contact_accepted"};
  static_assert(std::variant_size_v<user::event> == std::size(names));
  return names[e.index()];
}

void put_fields(json& j, const user::account_registered& e) {
  j["id"] = e.id.value;
  j["name"] = e.name;
  j["token_hash"] = e.token_hash;
  j["time"] = e.time;
}
void put_fields(json& j, const user::account_renamed& e) {
  j["name"] = e.name;
}
void put_fields(json&, const user::account_disabled&) {}
void put_fields(json&, const user::account_enabled&) {}
void put_fields(json&, const user::tokens_revoked&) {}
void put_fields(json& j, const user::token_issued& e) {
  j["token_hash"] = e.token_hash;
}
void put_fields(json& j, const user::fetch_cursor_moved& e) {
  j["room"] = e.room.value;
  j["up_to"] = e.up_to.value;
}
void put_fields(json& j, const user::profile_updated& e) {
  j["chatwork_id"] = e.value.chatwork_id;
  j["organization"] = e.value.organization;
  j["department"] = e.value.department;
  j["title"] = e.value.title;
  j["introduction"] = e.value.introduction;
}
void put_fields(json& j, const user::my_room_assigned& e) {
  j["room"] = e.room.value;
}
void put_fields(json& j, const user::contact_requested& e) {
  j["from"] = e.from.value;
  j["to"] = e.to.value;
  j["message"] = e.message;
  j["time"] = e.time;
}
void put_fields(json& j, const user::contact_request_rejected& e) {
  j["from"] = e.from.value;
  j["to"] = e.to.value;
}
void put_fields(json& j, const user::contact_accepted& e) {
  j["requester"] = e.requester.value;
  j["by"] = e.by.value;
  j["room"] = e.room.value;
}

template <class Reader>
result<user::event> read_user_event(std::string_view type, Reader& r) {
  user::event e;
  if (type == "user.account_registered") {
    e = user::account_registered{read_id<account_id>(r, "id"), r.str("name"), r.str("token_hash"),
                                 r.i64("time")};
  } else if (type == "user.account_renamed") {
    e = user::account_renamed{r.str("name")};
  } else if (type == "user.account_disabled") {
    e = user::account_disabled{};
  } else if (type == "user.account_enabled") {
    e = user::account_enabled{};
  } else if (type == "user.tokens_revoked") {
    e = user::tokens_revoked{};
  } else if (type == "user.token_issued") {
    e = user::token_issued{r.str("token_hash")};
  } else if (type == "user.fetch_cursor_moved") {
    e = user::fetch_cursor_moved{read_id<room_id>(r, "room"), read_id<message_id>(r, "up_to")};
  } else if (type == "user.profile_updated") {
    e = user::profile_updated{user::profile{r.str("chatwork_id"), r.str("organization"),
                                            r.str("department"), r.str("title"),
                                            r.str("introduction")}};
  } else if (type == "user.my_room_assigned") {
    e = user::my_room_assigned{read_id<room_id>(r, "room")};
  } else if (type == "user.contact_requested") {
    e = user::contact_requested{read_id<account_id>(r, "from"), read_id<account_id>(r, "to"),
                                r.str("message"), r.i64("time")};
  } else if (type == "user.contact_request_rejected") {
    e = user::contact_request_rejected{read_id<account_id>(r, "from"),
                                       read_id<account_id>(r, "to")};
  } else if (type == "user.contact_accepted") {
    e = user::contact_accepted{read_id<account_id>(r, "requester"), read_id<account_id>(r, "by"),
                               read_id<room_id>(r, "room")};
  } else {
    return hibiki::error{errc::bad_request,
                         "unknown user event type \"" + std::string(type) + "\""};
  }
  if (!r.ok()) return r.failure(type);
  return e;
}

/// Parses, upcasts, and hands the current-version document to `read`.
template <class Event, class Read>
result<Event> decode_with(std::span<const std::uint8_t> data, Read read) {
  auto doc = detail::parse_cbor(data);
  if (!doc) return doc.error();
  auto current = detail::upcast(std::move(*doc));
  if (!current) return current.error();
  try {
    field_reader r(*current);
    return read((*current)["t"].template get<std::string>(), r);
  } catch (const std::exception& ex) {
    return hibiki::error{errc::bad_request, std::string("malformed event: ") + ex.what()};
  }
}

/// Reads an event of the current version straight from its bytes; nullopt when anything is not
/// as encode writes it (then the document decoder reads it, or says what is wrong).
template <class Event, class Read>
std::optional<Event> decode_direct(std::span<const std::uint8_t> data, Read read) {
  top_level_fields fields;
  if (!fields.scan(data)) return std::nullopt;
  std::string_view type;
  if (!fields.is_current(data, type)) return std::nullopt;
  direct_field_reader r(data, fields);
  auto e = read(type, r);
  if (!e) return std::nullopt;
  return std::move(*e);
}

}  // namespace

namespace dom {

result<room::event> decode_room_event(std::span<const std::uint8_t> data) {
  return decode_with<room::event>(data, read_room_event<field_reader>);
}

result<user::event> decode_user_event(std::span<const std::uint8_t> data) {
  return decode_with<user::event>(data, read_user_event<field_reader>);
}

}  // namespace dom

namespace direct {

std::optional<room::event> decode_room_event(std::span<const std::uint8_t> data) {
  return decode_direct<room::event>(data, read_room_event<direct_field_reader>);
}

std::optional<user::event> decode_user_event(std::span<const std::uint8_t> data) {
  return decode_direct<user::event>(data, read_user_event<direct_field_reader>);
}

}  // namespace direct

bytes encode(const room::event& e) {
  json j = header(room_type_name(e));
  std::visit([&](const auto& ev) { put_fields(j, ev); }, e);
  return detail::to_cbor(j);
}

bytes encode(const user::event& e) {
  json j = header(user_type_name(e));
  std::visit([&](const auto& ev) { put_fields(j, ev); }, e);
  return detail::to_cbor(j);
}

result<room::event> decode_room_event(std::span<const std::uint8_t> data) {
  if (auto e = direct::decode_room_event(data)) return std::move(*e);
  return dom::decode_room_event(data);
}

result<user::event> decode_user_event(std::span<const std::uint8_t> data) {
  if (auto e = direct::decode_user_event(data)) return std::move(*e);
  return dom::decode_user_event(data);
}

result<std::string> event_type(std::span<const std::uint8_t> data) {
  top_level_fields fields;
  if (fields.scan(data)) {
    if (const auto at = fields.find("t")) {
      detail::cbor_cursor c(data);
      c.seek(*at);
      std::string type;
      if (c.text(type)) return type;
    }
  }
  return dom::event_type(data);
}

result<std::string> dom::event_type(std::span<const std::uint8_t> data) {
  auto doc = detail::parse_cbor(data);
  if (!doc) return doc.error();
  auto type = hibiki::detail::get_string(*doc, "t");
  if (!type) return hibiki::error{errc::bad_request, "encoded value has no type \"t\""};
  return *type;
}

}  // namespace hibiki::codec
