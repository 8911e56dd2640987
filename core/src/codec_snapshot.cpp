/// Snapshot encoding: the whole state of a room or a user, so recovery can start from it instead
/// of the first event. Per-member and per-message entries are arrays rather than maps: a room with
/// many messages would otherwise repeat every field name in every entry.

#include "codec_dom.hpp"
#include "codec_reader.hpp"
#include "codec_upcast.hpp"
#include "hibiki/core/codec.hpp"

namespace hibiki::codec {

namespace {

using detail::field_reader;
using nlohmann::json;

constexpr const char* room_snapshot_type = "room.snapshot";
constexpr const char* user_snapshot_type = "user.snapshot";

/// user.snapshot v2 added "disabled". A v1 snapshot was written before accounts could be
/// disabled, so its account is enabled.
[[maybe_unused]] const bool user_snapshot_v2 = [] {
  register_upcaster(user_snapshot_type, 1, [](json& j) { j["disabled"] = false; });
  return true;
}();

/// room.snapshot v2 added the room's "type", "icon_preset" and "removed". A v1 snapshot is of a
/// group room (the only kind then) with the default icon, never deleted (rooms could not be).
[[maybe_unused]] const bool room_snapshot_v2 = [] {
  register_upcaster(room_snapshot_type, 1, [](json& j) {
    j["type"] = "group";
    j["icon_preset"] = std::string(room::default_icon_preset);
    j["removed"] = false;
    j["tasks"] = json::array();
    j["last_task"] = 0;
    j["mentions"] = json::array();
  });
  return true;
}();

/// room.snapshot v3 added the shared files ("files", "last_file"). A v2 snapshot was written
/// before rooms had files.
[[maybe_unused]] const bool room_snapshot_v3 = [] {
  register_upcaster(room_snapshot_type, 2, [](json& j) {
    j["files"] = json::array();
    j["last_file"] = 0;
  });
  return true;
}();

/// room.snapshot v4 added the webhook settings ("webhooks", "last_webhook"). A v3 snapshot was
/// written before rooms had webhooks.
[[maybe_unused]] const bool room_snapshot_v4 = [] {
  register_upcaster(room_snapshot_type, 3, [](json& j) {
    j["webhooks"] = json::array();
    j["last_webhook"] = 0;
  });
  return true;
}();

/// user.snapshot v3 added the profile, the `my` room and the owned contact pairs, and made the
/// REST fetch positions ("fetch_cursors") a field every snapshot has. A v2 snapshot was written
/// before profiles, `my` rooms and contacts existed: an empty profile, no `my` room yet (it is
/// assigned lazily), no pairs. Its fetch positions are kept when it has them (a v2 writer added
/// the field only when there were some) and are empty otherwise.
[[maybe_unused]] const bool user_snapshot_v3 = [] {
  register_upcaster(user_snapshot_type, 2, [](json& j) {
    j["profile"] = json::array({"", "", "", "", ""});
    j["my_room"] = 0;
    j["pairs"] = json::array();
    if (!j.contains("fetch_cursors")) j["fetch_cursors"] = json::array();
  });
  return true;
}();

json ids_json(const std::vector<message_id>& ids) {
  json arr = json::array();
  for (const auto id : ids) arr.push_back(id.value);
  return arr;
}

std::optional<std::vector<message_id>> ids_from(const json& arr) {
  if (!arr.is_array()) return std::nullopt;
  std::vector<message_id> out;
  out.reserve(arr.size());
  for (const auto& v : arr) {
    auto u = hibiki::detail::as_u64(v);
    if (!u) return std::nullopt;
    out.push_back(message_id{*u});
  }
  return out;
}

/// Entries are arrays of fixed length; anything else is a corrupt snapshot.
bool is_tuple(const json& v, std::size_t n) {
  return v.is_array() && v.size() == n;
}

result<room::state> read_room(const json& doc) {
  field_reader r(doc);
  room::state s;
  s.id = r.id<room_id>("id");
  s.created = r.boolean("created");
  const auto type = room::parse_room_type(r.str("type"));
  if (!type) r.miss("type");
  s.type = type.value_or(room::room_type::group);
  s.removed = r.boolean("removed");
  s.name = r.str("name");
  s.description = r.str("description");
  s.icon_preset = r.str("icon_preset");
  s.created_at = r.i64("created_at");
  s.seq = r.u64("seq");
  s.deleted = r.ids<message_id>("deleted");
  const auto* members = r.array("members");
  const auto* messages = r.array("messages");
  const auto* dedupe = r.array("dedupe");
  const auto* tasks = r.array("tasks");
  const auto* mentions = r.array("mentions");
  const auto* files = r.array("files");
  const auto* webhooks = r.array("webhooks");
  s.last_task = r.id<task_id>("last_task");
  s.last_file = r.id<file_id>("last_file");
  s.last_webhook = r.id<webhook_id>("last_webhook");
  if (!r.ok()) return r.failure(room_snapshot_type);

  const hibiki::error corrupt{errc::bad_request, "room.snapshot: malformed entry"};
  for (const auto& m : *members) {
    // [account, role, read_up_to, [pending...]]
    if (!is_tuple(m, 4) || !m[1].is_string()) return corrupt;
    auto account = hibiki::detail::as_u64(m[0]);
    auto role = parse_role(m[1].get<std::string>());
    auto read = hibiki::detail::as_u64(m[2]);
    auto pending = ids_from(m[3]);
    if (!account || !role || !read || !pending) return corrupt;
    s.members[account_id{*account}] = room::member_state{*role, message_id{*read}, *pending};
  }
  s.messages.reserve(messages->size());
  for (const auto& m : *messages) {
    // [author, send_time, update_time, deleted]
    if (!is_tuple(m, 4) || !m[3].is_boolean()) return corrupt;
    auto author = hibiki::detail::as_u64(m[0]);
    auto sent = hibiki::detail::as_i64(m[1]);
    auto updated = hibiki::detail::as_i64(m[2]);
    if (!author || !sent || !updated) return corrupt;
    s.messages.push_back(
        room::message_meta{account_id{*author}, *sent, *updated, m[3].get<bool>()});
  }
  for (const auto& d : *dedupe) {
    // [key, message_id, seq], oldest first
    if (!is_tuple(d, 3) || !d[0].is_string()) return corrupt;
    auto id = hibiki::detail::as_u64(d[1]);
    auto seq = hibiki::detail::as_u64(d[2]);
    if (!id || !seq) return corrupt;
    auto key = d[0].get<std::string>();
    if (!s.dedupe.emplace(key, room::sent_receipt{message_id{*id}, *seq}).second) return corrupt;
    s.dedupe_order.push_back(std::move(key));
  }
  for (const auto& t : *tasks) {
    // [id, assignee, by, body, limit, limit_type, status, time, update_time, message,
    // assignee_name, by_name]; snapshots from before tasks had a message end after update_time.
    const bool with_message = is_tuple(t, 12);
    if ((!with_message && !is_tuple(t, 9)) || !t[3].is_string() || !t[5].is_string() ||
        !t[6].is_string()) {
      return corrupt;
    }
    auto id = hibiki::detail::as_u64(t[0]);
    auto assignee = hibiki::detail::as_u64(t[1]);
    auto by = hibiki::detail::as_u64(t[2]);
    auto limit = hibiki::detail::as_i64(t[4]);
    auto ltype = room::parse_limit_type(t[5].get<std::string>());
    auto status = room::parse_task_status(t[6].get<std::string>());
    auto time = hibiki::detail::as_i64(t[7]);
    auto updated = hibiki::detail::as_i64(t[8]);
    if (!id || !assignee || !by || !limit || !ltype || !status || !time || !updated) {
      return corrupt;
    }
    room::task task{account_id{*assignee},
                    account_id{*by},
                    t[3].get<std::string>(),
                    *limit,
                    *ltype,
                    *status,
                    *time,
                    *updated};
    if (with_message) {
      auto message = hibiki::detail::as_u64(t[9]);
      if (!message || !t[10].is_string() || !t[11].is_string()) return corrupt;
      task.message = message_id{*message};
      task.assignee_name = t[10].get<std::string>();
      task.by_name = t[11].get<std::string>();
    }
    s.tasks[task_id{*id}] = std::move(task);
  }
  for (const auto& m : *mentions) {
    // [message_id, [account...]]
    if (!is_tuple(m, 2) || !m[1].is_array()) return corrupt;
    auto id = hibiki::detail::as_u64(m[0]);
    if (!id) return corrupt;
    std::vector<account_id> accounts;
    for (const auto& a : m[1]) {
      auto n = hibiki::detail::as_u64(a);
      if (!n) return corrupt;
      accounts.push_back(account_id{*n});
    }
    s.mentions[message_id{*id}] = std::move(accounts);
  }
  for (const auto& f : *files) {
    // [id, account, filename, size, content_type, object_key, requested_at, expires_at, status,
    //  message, upload_time, upload_seq, hidden_at]
    if (!is_tuple(f, 13) || !f[2].is_string() || !f[4].is_string() || !f[5].is_string() ||
        !f[8].is_string()) {
      return corrupt;
    }
    namespace d = hibiki::detail;
    auto id = d::as_u64(f[0]);
    auto account = d::as_u64(f[1]);
    auto size = d::as_u64(f[3]);
    auto requested = d::as_i64(f[6]);
    auto expires = d::as_i64(f[7]);
    auto status = room::parse_file_status(f[8].get<std::string>());
    auto message = d::as_u64(f[9]);
    auto uploaded = d::as_i64(f[10]);
    auto upload_seq = d::as_u64(f[11]);
    auto hidden = d::as_i64(f[12]);
    if (!id || !account || !size || !requested || !expires || !status || !message || !uploaded ||
        !upload_seq || !hidden) {
      return corrupt;
    }
    s.files[file_id{*id}] = room::shared_file{account_id{*account},
                                              f[2].get<std::string>(),
                                              *size,
                                              f[4].get<std::string>(),
                                              f[5].get<std::string>(),
                                              *requested,
                                              *expires,
                                              *status,
                                              message_id{*message},
                                              *uploaded,
                                              *upload_seq,
                                              *hidden};
  }
  for (const auto& w : *webhooks) {
    // [id, url, [event names], token, by, created_at]
    if (!is_tuple(w, 6) || !w[1].is_string() || !w[2].is_array() || !w[3].is_string()) {
      return corrupt;
    }
    auto id = hibiki::detail::as_u64(w[0]);
    auto by = hibiki::detail::as_u64(w[4]);
    auto created = hibiki::detail::as_i64(w[5]);
    if (!id || !by || !created) return corrupt;
    room::webhook_setting setting{
        w[1].get<std::string>(), {}, w[3].get<std::string>(), account_id{*by}, *created};
    for (const auto& name : w[2]) {
      auto e = name.is_string() ? room::parse_webhook_event(name.get<std::string>()) : std::nullopt;
      if (!e) return corrupt;
      setting.events.push_back(*e);
    }
    s.webhooks[webhook_id{*id}] = std::move(setting);
  }
  room::count_open_tasks(s);
  return s;
}

result<user::state> read_user(const json& doc) {
  field_reader r(doc);
  user::state s;
  s.id = r.id<account_id>("id");
  s.registered = r.boolean("registered");
  s.name = r.str("name");
  s.token_hash = r.str("token_hash");
  s.created_at = r.i64("created_at");
  s.disabled = r.boolean("disabled");
  s.my_room = r.id<room_id>("my_room");
  const auto* profile = r.array("profile");
  const auto* pairs = r.array("pairs");
  const auto* cursors = r.array("fetch_cursors");
  if (!r.ok()) return r.failure(user_snapshot_type);
  const hibiki::error corrupt{errc::bad_request, "user.snapshot: malformed entry"};
  // [chatwork_id, organization, department, title, introduction]
  if (!is_tuple(*profile, 5)) return corrupt;
  for (const auto& f : *profile)
    if (!f.is_string()) return corrupt;
  s.profile = user::profile{(*profile)[0].get<std::string>(), (*profile)[1].get<std::string>(),
                            (*profile)[2].get<std::string>(), (*profile)[3].get<std::string>(),
                            (*profile)[4].get<std::string>()};
  for (const auto& p : *pairs) {
    // [other, contacts, requester, message, requested_at, room]
    if (!is_tuple(p, 6) || !p[1].is_boolean() || !p[3].is_string()) return corrupt;
    auto other = hibiki::detail::as_u64(p[0]);
    auto requester = hibiki::detail::as_u64(p[2]);
    auto at = hibiki::detail::as_i64(p[4]);
    auto room = hibiki::detail::as_u64(p[5]);
    if (!other || !requester || !at || !room) return corrupt;
    s.pairs[account_id{*other}] = user::pair_state{p[1].get<bool>(), account_id{*requester},
                                                   p[3].get<std::string>(), *at, room_id{*room}};
  }
  for (const auto& c : *cursors) {
    // [room, up_to]
    if (!is_tuple(c, 2)) return corrupt;
    auto room = hibiki::detail::as_u64(c[0]);
    auto up_to = hibiki::detail::as_u64(c[1]);
    if (!room || !up_to) return corrupt;
    s.fetch_cursors[room_id{*room}] = message_id{*up_to};
  }
  return s;
}

template <class State, class Read>
result<State> decode_snapshot(std::span<const std::uint8_t> data, const char* type, Read read) {
  auto doc = detail::parse_cbor(data);
  if (!doc) return doc.error();
  auto current = detail::upcast(std::move(*doc));
  if (!current) return current.error();
  if ((*current)["t"] != type) {
    return hibiki::error{errc::bad_request, std::string("not a ") + type};
  }
  try {
    return read(*current);
  } catch (const std::exception& ex) {
    return hibiki::error{errc::bad_request, std::string("malformed snapshot: ") + ex.what()};
  }
}

}  // namespace

bytes encode_snapshot(const room::state& s) {
  json members = json::array();
  for (const auto& [a, m] : s.members) {
    members.push_back(json::array({a.value, std::string(to_string(m.role)), m.read_up_to.value,
                                   ids_json(m.pending_mentions)}));
  }
  json messages = json::array();
  for (const auto& m : s.messages) {
    messages.push_back(json::array({m.author.value, m.send_time, m.update_time, m.deleted}));
  }
  json dedupe = json::array();
  for (const auto& key : s.dedupe_order) {
    auto it = s.dedupe.find(key);
    if (it == s.dedupe.end()) continue;
    dedupe.push_back(json::array({key, it->second.id.value, it->second.seq}));
  }
  json tasks = json::array();
  for (const auto& [id, t] : s.tasks) {
    tasks.push_back(json::array({id.value, t.assignee.value, t.by.value, t.body, t.limit,
                                 std::string(room::to_string(t.limit_type)),
                                 std::string(room::to_string(t.status)), t.time, t.update_time,
                                 t.message.value, t.assignee_name, t.by_name}));
  }
  json mentions = json::array();
  for (const auto& [id, accounts] : s.mentions) {
    json list = json::array();
    for (const auto a : accounts) list.push_back(a.value);
    mentions.push_back(json::array({id.value, std::move(list)}));
  }
  json files = json::array();
  for (const auto& [id, f] : s.files) {
    files.push_back(
        json::array({id.value, f.account.value, f.filename, f.size, f.content_type, f.object_key,
                     f.requested_at, f.expires_at, std::string(room::to_string(f.status)),
                     f.message.value, f.upload_time, f.upload_seq, f.hidden_at}));
  }
  json webhooks = json::array();
  for (const auto& [id, w] : s.webhooks) {
    json events = json::array();
    for (const auto e : w.events) events.push_back(std::string(room::to_string(e)));
    webhooks.push_back(
        json::array({id.value, w.url, std::move(events), w.token, w.by.value, w.created_at}));
  }
  json j{{"t", room_snapshot_type},
         {"v", current_version(room_snapshot_type)},
         {"id", s.id.value},
         {"created", s.created},
         {"type", std::string(room::to_string(s.type))},
         {"removed", s.removed},
         {"name", s.name},
         {"description", s.description},
         {"icon_preset", s.icon_preset},
         {"created_at", s.created_at},
         {"seq", s.seq},
         {"deleted", ids_json(s.deleted)},
         {"members", std::move(members)},
         {"messages", std::move(messages)},
         {"dedupe", std::move(dedupe)},
         {"tasks", std::move(tasks)},
         {"last_task", s.last_task.value},
         {"mentions", std::move(mentions)},
         {"files", std::move(files)},
         {"last_file", s.last_file.value},
         {"webhooks", std::move(webhooks)},
         {"last_webhook", s.last_webhook.value}};
  return detail::to_cbor(j);
}

bytes encode_snapshot(const user::state& s) {
  json j{{"t", user_snapshot_type},
         {"v", current_version(user_snapshot_type)},
         {"id", s.id.value},
         {"registered", s.registered},
         {"name", s.name},
         {"token_hash", s.token_hash},
         {"created_at", s.created_at},
         {"disabled", s.disabled},
         {"profile", json::array({s.profile.chatwork_id, s.profile.organization,
                                  s.profile.department, s.profile.title, s.profile.introduction})},
         {"my_room", s.my_room.value}};
  json pairs = json::array();
  for (const auto& [other, p] : s.pairs) {
    pairs.push_back(json::array(
        {other.value, p.contacts, p.requester.value, p.message, p.requested_at, p.room.value}));
  }
  j["pairs"] = std::move(pairs);
  json cursors = json::array();
  for (const auto& [room, up_to] : s.fetch_cursors)
    cursors.push_back(json::array({room.value, up_to.value}));
  j["fetch_cursors"] = std::move(cursors);
  return detail::to_cbor(j);
}

namespace dom {

result<room::state> decode_room_snapshot(std::span<const std::uint8_t> data) {
  return decode_snapshot<room::state>(data, room_snapshot_type, read_room);
}

result<user::state> decode_user_snapshot(std::span<const std::uint8_t> data) {
  return decode_snapshot<user::state>(data, user_snapshot_type, read_user);
}

}  // namespace dom

}  // namespace hibiki::codec
