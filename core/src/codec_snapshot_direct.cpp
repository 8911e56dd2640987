/// Snapshot decoding straight from the bytes (rooms and users): a room snapshot of 100,000 messages
/// is read into room::state without a JSON document in between (the document of such a snapshot is
/// a million heap nodes, most of the time recovery spends). Only the current version is read here;
/// any other, and anything not as encode_snapshot writes it, goes to the document decoder
/// (codec_snapshot.cpp), which upcasts or says what is wrong.

#include <optional>

#include "codec_direct.hpp"
#include "codec_dom.hpp"
#include "hibiki/core/codec.hpp"

namespace hibiki::codec {

namespace {

using detail::cbor_cursor;
using detail::direct_field_reader;
using detail::top_level_fields;
using taken = top_level_fields::taken;

/// Reads a fixed-length entry's head: an array of exactly `n` elements.
bool tuple(cbor_cursor& c, std::size_t n) {
  std::size_t got = 0;
  return c.array(got) && got == n;
}

template <class Id>
bool read_ids(cbor_cursor& c, std::vector<Id>& out) {
  std::size_t n = 0;
  if (!c.array(n)) return false;
  out.clear();
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t v = 0;
    if (!c.u64(v)) return false;
    out.push_back(Id{v});
  }
  return true;
}

/// Reads a list of entries, each with `entry(cursor)`.
template <class Entry>
bool read_list(cbor_cursor& c, Entry entry) {
  std::size_t n = 0;
  if (!c.array(n)) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (!entry(c)) return false;
  return true;
}

bool read_members(cbor_cursor& c, room::state& s) {
  s.members.clear();
  return read_list(c, [&](cbor_cursor& e) {
    // [account, role, read_up_to, [pending...]]
    std::uint64_t account = 0, read = 0;
    std::string_view role_name;
    room::member_state m;
    if (!tuple(e, 4) || !e.u64(account) || !e.text(role_name) || !e.u64(read) ||
        !read_ids(e, m.pending_mentions)) {
      return false;
    }
    const auto role = parse_role(role_name);
    if (!role) return false;
    m.role = *role;
    m.read_up_to = message_id{read};
    s.members[account_id{account}] = std::move(m);
    return true;
  });
}

bool read_messages(cbor_cursor& c, room::state& s) {
  std::size_t n = 0;
  if (!c.array(n)) return false;
  s.messages.clear();
  s.messages.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    // [author, send_time, update_time, deleted]
    std::uint64_t author = 0;
    room::message_meta m;
    if (!tuple(c, 4) || !c.u64(author) || !c.i64(m.send_time) || !c.i64(m.update_time) ||
        !c.boolean(m.deleted)) {
      return false;
    }
    m.author = account_id{author};
    s.messages.push_back(m);
  }
  return true;
}

bool read_dedupe(cbor_cursor& c, room::state& s) {
  std::size_t n = 0;
  if (!c.array(n)) return false;
  s.dedupe.clear();
  s.dedupe_order.clear();
  s.dedupe.reserve(n);  // one table of the final size, not a rehash at every doubling
  for (std::size_t i = 0; i < n; ++i) {
    // [key, message_id, seq], oldest first
    std::string key;
    std::uint64_t id = 0, seq = 0;
    if (!tuple(c, 3) || !c.text(key) || !c.u64(id) || !c.u64(seq)) return false;
    if (!s.dedupe.emplace(key, room::sent_receipt{message_id{id}, seq}).second) return false;
    s.dedupe_order.push_back(std::move(key));
  }
  return true;
}

bool read_tasks(cbor_cursor& c, room::state& s) {
  s.tasks.clear();
  return read_list(c, [&](cbor_cursor& e) {
    // [id, assignee, by, body, limit, limit_type, status, time, update_time, message,
    // assignee_name, by_name]; snapshots from before tasks had a message end after update_time.
    std::size_t n = 0;
    if (!e.array(n) || (n != 12 && n != 9)) return false;
    std::uint64_t id = 0, assignee = 0, by = 0;
    std::string_view ltype_name, status_name;
    room::task t;
    if (!e.u64(id) || !e.u64(assignee) || !e.u64(by) || !e.text(t.body) || !e.i64(t.limit) ||
        !e.text(ltype_name) || !e.text(status_name) || !e.i64(t.time) || !e.i64(t.update_time)) {
      return false;
    }
    const auto ltype = room::parse_limit_type(ltype_name);
    const auto status = room::parse_task_status(status_name);
    if (!ltype || !status) return false;
    t.assignee = account_id{assignee};
    t.by = account_id{by};
    t.limit_type = *ltype;
    t.status = *status;
    if (n == 12) {
      std::uint64_t message = 0;
      if (!e.u64(message) || !e.text(t.assignee_name) || !e.text(t.by_name)) return false;
      t.message = message_id{message};
    }
    s.tasks[task_id{id}] = std::move(t);
    return true;
  });
}

bool read_mentions(cbor_cursor& c, room::state& s) {
  s.mentions.clear();
  return read_list(c, [&](cbor_cursor& e) {
    // [message_id, [account...]]
    std::uint64_t id = 0;
    std::vector<account_id> accounts;
    if (!tuple(e, 2) || !e.u64(id) || !read_ids(e, accounts)) return false;
    s.mentions[message_id{id}] = std::move(accounts);
    return true;
  });
}

bool read_files(cbor_cursor& c, room::state& s) {
  s.files.clear();
  return read_list(c, [&](cbor_cursor& e) {
    // [id, account, filename, size, content_type, object_key, requested_at, expires_at, status,
    //  message, upload_time, upload_seq, hidden_at]
    std::uint64_t id = 0, account = 0, message = 0;
    std::string_view status_name;
    room::shared_file f;
    if (!tuple(e, 13) || !e.u64(id) || !e.u64(account) || !e.text(f.filename) || !e.u64(f.size) ||
        !e.text(f.content_type) || !e.text(f.object_key) || !e.i64(f.requested_at) ||
        !e.i64(f.expires_at) || !e.text(status_name) || !e.u64(message) || !e.i64(f.upload_time) ||
        !e.u64(f.upload_seq) || !e.i64(f.hidden_at)) {
      return false;
    }
    const auto status = room::parse_file_status(status_name);
    if (!status) return false;
    f.account = account_id{account};
    f.status = *status;
    f.message = message_id{message};
    s.files[file_id{id}] = std::move(f);
    return true;
  });
}

bool read_webhooks(cbor_cursor& c, room::state& s) {
  s.webhooks.clear();
  return read_list(c, [&](cbor_cursor& e) {
    // [id, url, [event names], token, by, created_at]
    std::uint64_t id = 0, by = 0;
    room::webhook_setting w;
    if (!tuple(e, 6) || !e.u64(id) || !e.text(w.url)) return false;
    const bool events = read_list(e, [&](cbor_cursor& name) {
      std::string_view text;
      if (!name.text(text)) return false;
      const auto ev = room::parse_webhook_event(text);
      if (!ev) return false;
      w.events.push_back(*ev);
      return true;
    });
    if (!events || !e.text(w.token) || !e.u64(by) || !e.i64(w.created_at)) return false;
    w.by = account_id{by};
    s.webhooks[webhook_id{id}] = std::move(w);
    return true;
  });
}

bool read_profile(cbor_cursor& c, user::state& s) {
  // [chatwork_id, organization, department, title, introduction]
  auto& p = s.profile;
  return tuple(c, 5) && c.text(p.chatwork_id) && c.text(p.organization) && c.text(p.department) &&
         c.text(p.title) && c.text(p.introduction);
}

bool read_pairs(cbor_cursor& c, user::state& s) {
  s.pairs.clear();
  return read_list(c, [&](cbor_cursor& e) {
    // [other, contacts, requester, message, requested_at, room]
    std::uint64_t other = 0, requester = 0, room = 0;
    user::pair_state p;
    if (!tuple(e, 6) || !e.u64(other) || !e.boolean(p.contacts) || !e.u64(requester) ||
        !e.text(p.message) || !e.i64(p.requested_at) || !e.u64(room)) {
      return false;
    }
    p.requester = account_id{requester};
    p.room = room_id{room};
    s.pairs[account_id{other}] = std::move(p);
    return true;
  });
}

bool read_cursors(cbor_cursor& c, user::state& s) {
  s.fetch_cursors.clear();
  return read_list(c, [&](cbor_cursor& e) {
    // [room, up_to]
    std::uint64_t room = 0, up_to = 0;
    if (!tuple(e, 2) || !e.u64(room) || !e.u64(up_to)) return false;
    s.fetch_cursors[room_id{room}] = message_id{up_to};
    return true;
  });
}

}  // namespace

/// The current user.snapshot straight from its bytes, or nullopt (see the file comment).
std::optional<user::state> direct::decode_user_snapshot(std::span<const std::uint8_t> data) {
  user::state s;
  enum list : unsigned { profile, pairs, cursors };
  unsigned seen = 0;
  top_level_fields fields;
  const bool scanned = fields.scan(data, [&](std::string_view key, cbor_cursor& c) {
    const auto take = [&](list which, bool read) {
      if (!read) return taken::failed;
      seen |= 1U << which;
      return taken::yes;
    };
    if (key == "profile") return take(profile, read_profile(c, s));
    if (key == "pairs") return take(pairs, read_pairs(c, s));
    if (key == "fetch_cursors") return take(cursors, read_cursors(c, s));
    return taken::no;
  });
  if (!scanned || seen != (1U << (cursors + 1)) - 1) return std::nullopt;
  std::string_view type;
  if (!fields.is_current(data, type) || type != "user.snapshot") return std::nullopt;
  direct_field_reader r(data, fields);
  s.id = account_id{r.u64("id")};
  s.registered = r.boolean("registered");
  s.name = r.str("name");
  s.token_hash = r.str("token_hash");
  s.created_at = r.i64("created_at");
  s.disabled = r.boolean("disabled");
  s.my_room = room_id{r.u64("my_room")};
  if (!r.ok()) return std::nullopt;
  return s;
}

/// The current room.snapshot straight from its bytes, or nullopt (see the file comment).
std::optional<room::state> direct::decode_room_snapshot(std::span<const std::uint8_t> data) {
  room::state s;
  // The lists are read where they lie; each must be present (a list given twice is read again,
  // so the last one counts, as in the document decoder).
  enum list : unsigned { members, messages, dedupe, tasks, mentions, files, webhooks, deleted };
  unsigned seen = 0;
  top_level_fields fields;
  const bool scanned = fields.scan(data, [&](std::string_view key, cbor_cursor& c) {
    const auto take = [&](list which, bool read) {
      if (!read) return taken::failed;
      seen |= 1U << which;
      return taken::yes;
    };
    if (key == "messages") return take(messages, read_messages(c, s));
    if (key == "dedupe") return take(dedupe, read_dedupe(c, s));
    if (key == "members") return take(members, read_members(c, s));
    if (key == "deleted") return take(deleted, read_ids(c, s.deleted));
    if (key == "tasks") return take(tasks, read_tasks(c, s));
    if (key == "mentions") return take(mentions, read_mentions(c, s));
    if (key == "files") return take(files, read_files(c, s));
    if (key == "webhooks") return take(webhooks, read_webhooks(c, s));
    return taken::no;
  });
  if (!scanned || seen != (1U << (deleted + 1)) - 1) return std::nullopt;
  std::string_view type;
  if (!fields.is_current(data, type) || type != "room.snapshot") return std::nullopt;

  direct_field_reader r(data, fields);
  s.id = r.id<room_id>("id");
  s.created = r.boolean("created");
  const auto room_type = room::parse_room_type(r.str("type"));
  if (!room_type) return std::nullopt;
  s.type = *room_type;
  s.removed = r.boolean("removed");
  s.name = r.str("name");
  s.description = r.str("description");
  s.icon_preset = r.str("icon_preset");
  s.created_at = r.i64("created_at");
  s.seq = r.u64("seq");
  s.last_task = r.id<task_id>("last_task");
  s.last_file = r.id<file_id>("last_file");
  s.last_webhook = r.id<webhook_id>("last_webhook");
  if (!r.ok()) return std::nullopt;
  room::count_open_tasks(s);
  return s;
}

result<room::state> decode_room_snapshot(std::span<const std::uint8_t> data) {
  if (auto s = direct::decode_room_snapshot(data)) return std::move(*s);
  return dom::decode_room_snapshot(data);
}

result<user::state> decode_user_snapshot(std::span<const std::uint8_t> data) {
  if (auto s = direct::decode_user_snapshot(data)) return std::move(*s);
  return dom::decode_user_snapshot(data);
}

}  // namespace hibiki::codec
