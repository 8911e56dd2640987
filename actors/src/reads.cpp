#include "reads.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <vector>

#include "people_reads.hpp"
#include "row_memo.hpp"
#include "token.hpp"

namespace hibiki::actors {

namespace {

using read_model::table;

/// Message objects name their author as they are named now (a rename shows in old messages).
read_model::name_refresher current_names(persistence::read_store& reads) {
  return read_model::name_refresher([&reads](account_id a) { return current_name(reads, a); });
}

hibiki::error storage_error(const hibiki::error& e) {
  return e.code == errc::ok ? hibiki::error{errc::internal, e.message} : e;
}

}  // namespace

std::optional<hibiki::error> check_member(persistence::read_store& reads, account_id reader,
                                          room_id room, bool* is_member) {
  auto row = reads.get(table::member_rooms, read_model::member_room_key(reader, room));
  if (!row) return row.error();
  if (row->has_value()) {
    if (is_member) *is_member = true;
    return std::nullopt;
  }
  if (is_member) *is_member = false;
  auto summary = reads.get(table::room_summary, read_model::room_summary_key(room));
  if (!summary) return summary.error();
  if (!summary->has_value()) return hibiki::error{errc::not_found, "no such room"};
  return hibiki::error{errc::forbidden, "not a member of this room"};
}

command_reply read_history(persistence::read_store& reads, account_id reader,
                           const protocol::history_req& req) {
  if (auto err = check_member(reads, reader, req.room)) return command_reply::fail(*err);
  const std::size_t limit = std::clamp<std::size_t>(req.limit, 1, 100);
  const std::string room_end = read_model::history_key(room_id{req.room.value + 1}, message_id{0});
  std::string from = read_model::history_key(req.room, message_id{1});
  std::string to = room_end;
  bool reverse = true;
  if (req.after) {
    from = read_model::history_key(req.room, message_id{req.after->value + 1});
    reverse = false;
  }
  if (req.before) to = read_model::history_key(req.room, *req.before);
  std::vector<nlohmann::json> messages;
  auto st = reads.scan(table::history, from, to, limit, reverse,
                       [&](std::string_view, std::string_view value) {
                         messages.push_back(nlohmann::json::parse(value));
                         return true;
                       });
  if (!st) return command_reply::fail(storage_error(st.error()));
  if (reverse) std::reverse(messages.begin(), messages.end());
  auto names = current_names(reads);
  nlohmann::json list = nlohmann::json::array();
  for (auto& m : messages) {
    names.refresh(m);
    list.push_back(std::move(m));
  }
  return command_reply::ok({{"messages", std::move(list)}});
}

namespace {

/// The reader's rooms as list_rooms entries, from its member rows and the rooms' summaries.
result<std::vector<read_model::room_listing>> listings(persistence::read_store& reads,
                                                       account_id reader) {
  std::vector<read_model::member_row> rows;
  std::optional<hibiki::error> bad;
  auto st = reads.scan(table::member_rooms, read_model::member_rooms_prefix(reader),
                       read_model::member_rooms_prefix(account_id{reader.value + 1}), SIZE_MAX,
                       false, [&](std::string_view, std::string_view value) {
                         auto row = read_model::decode_member_row(value);
                         if (!row) {
                           bad = row.error();
                           return false;
                         }
                         rows.push_back(std::move(*row));
                         return true;
                       });
  if (!st) return storage_error(st.error());
  if (bad) return hibiki::error{errc::internal, bad->message};
  // Up to 16,384 summaries per reading thread (a few MiB): the rooms its readers are in.
  thread_local row_memo<read_model::room_summary> summaries(16384,
                                                            &read_model::decode_room_summary);
  std::vector<read_model::room_listing> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    const auto key = read_model::room_summary_key(row.room);
    auto summary = reads.get(table::room_summary, key);
    if (!summary) return storage_error(summary.error());
    if (!summary->has_value()) continue;
    auto decoded = summaries.get(key, **summary);
    if (!decoded) return hibiki::error{errc::internal, decoded.error().message};
    out.push_back(read_model::listing(row, **decoded));
  }
  return out;
}

}  // namespace

command_reply read_list_rooms(persistence::read_store& reads, account_id reader, bool details) {
  auto rooms = listings(reads, reader);
  if (!rooms) return command_reply::fail(rooms.error());
  nlohmann::json list = nlohmann::json::array();
  for (const auto& l : *rooms) list.push_back(read_model::to_json(l, details));
  return command_reply::ok({{"rooms", std::move(list)}});
}

command_reply read_message(persistence::read_store& reads, account_id reader, room_id room,
                           message_id message) {
  if (auto err = check_member(reads, reader, room)) return command_reply::fail(*err);
  auto row = reads.get(table::history, read_model::history_key(room, message));
  if (!row) return command_reply::fail(storage_error(row.error()));
  if (!row->has_value()) return command_reply::fail(errc::not_found, "no such message");
  auto j = nlohmann::json::parse(**row, nullptr, false);
  if (!j.is_object()) return command_reply::fail(errc::internal, "corrupt history row");
  current_names(reads).refresh(j);
  return command_reply::ok({{"message", std::move(j)}});
}

command_reply read_my_status(persistence::read_store& reads, account_id reader) {
  auto rooms = listings(reads, reader);
  if (!rooms) return command_reply::fail(rooms.error());
  std::size_t unread_rooms = 0, mention_rooms = 0, task_rooms = 0;
  std::size_t unread = 0, mentions = 0, tasks = 0;
  for (const auto& l : *rooms) {
    unread_rooms += l.unread_num > 0 ? 1 : 0;
    mention_rooms += l.mention_num > 0 ? 1 : 0;
    task_rooms += l.mytask_num > 0 ? 1 : 0;
    unread += l.unread_num;
    mentions += l.mention_num;
    tasks += l.mytask_num;
  }
  return command_reply::ok({{"unread_room_num", unread_rooms},
                            {"mention_room_num", mention_rooms},
                            {"mytask_room_num", task_rooms},
                            {"unread_num", unread},
                            {"mention_num", mentions},
                            {"mytask_num", tasks}});
}

command_reply read_my_tasks(persistence::read_store& reads, account_id reader,
                            std::optional<account_id> assigned_by,
                            std::optional<std::string> status) {
  std::vector<nlohmann::json> tasks;
  std::optional<hibiki::error> bad;
  auto st = reads.scan(table::account_tasks, read_model::account_tasks_prefix(reader),
                       read_model::account_tasks_prefix(account_id{reader.value + 1}), SIZE_MAX,
                       false, [&](std::string_view, std::string_view value) {
                         auto j = nlohmann::json::parse(value, nullptr, false);
                         if (!j.is_object()) {
                           bad = hibiki::error{errc::internal, "corrupt account_tasks row"};
                           return false;
                         }
                         tasks.push_back(std::move(j));
                         return true;
                       });
  if (!st) return command_reply::fail(storage_error(st.error()));
  if (bad) return command_reply::fail(*bad);
  nlohmann::json list = nlohmann::json::array();
  // room → {name, icon_preset}, read once per room
  std::map<std::uint64_t, std::pair<std::string, std::string>> names;
  for (auto& t : tasks) {
    const auto by = t["assigned_by_account"].value("account_id", std::uint64_t{0});
    if (assigned_by && by != assigned_by->value) continue;
    if (status && t.value("status", "") != *status) continue;
    const auto room = t.value("room_id", std::uint64_t{0});
    if (!names.contains(room)) {
      auto summary = reads.get(table::room_summary, read_model::room_summary_key(room_id{room}));
      if (!summary) return command_reply::fail(storage_error(summary.error()));
      std::pair<std::string, std::string> shown{"", std::string(room::default_icon_preset)};
      if (summary->has_value()) {
        auto decoded = read_model::decode_room_summary(**summary);
        if (decoded) shown = {decoded->name, decoded->icon_preset};
      }
      names.emplace(room, std::move(shown));
    }
    t["room"] = {
        {"room_id", room}, {"name", names[room].first}, {"icon_preset", names[room].second}};
    list.push_back(std::move(t));
  }
  name_task_accounts(reads, list);
  return command_reply::ok({{"tasks", std::move(list)}});
}

result<std::vector<sync_room>> plan_sync(persistence::read_store& reads, account_id reader,
                                         const protocol::sync_req& req) {
  std::vector<sync_room> plan;
  for (const auto& [room, since] : req.since) {
    bool member = false;
    auto err = check_member(reads, reader, room, &member);
    if (!member) {
      // Rooms the reader cannot see are skipped, not an error: a client may remember a room
      // it has since left. Storage failures still fail the request.
      if (err && err->code != errc::forbidden && err->code != errc::not_found)
        return storage_error(*err);
      continue;
    }
    auto summary_row = reads.get(table::room_summary, read_model::room_summary_key(room));
    if (!summary_row) return storage_error(summary_row.error());
    if (!summary_row->has_value()) continue;
    auto summary = read_model::decode_room_summary(**summary_row);
    if (!summary) return hibiki::error{errc::internal, summary.error().message};
    const seq_nr current = summary->last_seq;
    if (since >= current) continue;
    plan.push_back(sync_room{room, since, current, current - since > max_sync_replay});
  }
  return plan;
}

namespace {

/// The seq in a room_events key (room|seq, both big-endian 64-bit).
seq_nr seq_of_event_key(std::string_view key) {
  seq_nr seq = 0;
  if (key.size() < 8) return seq;
  for (std::size_t i = key.size() - 8; i < key.size(); ++i)
    seq = (seq << 8) | static_cast<unsigned char>(key[i]);
  return seq;
}

}  // namespace

result<sync_batch> read_sync_batch(persistence::read_store& reads, room_id room, seq_nr from,
                                   seq_nr current, std::size_t batch_bytes, std::size_t size_cap) {
  sync_batch out;
  out.next = current + 1;
  bool filling = true;
  std::size_t measured = 0;
  auto names = current_names(reads);
  auto st =
      reads.scan(table::room_events, read_model::room_event_key(room, from),
                 read_model::room_event_key(room, current + 1), SIZE_MAX, false,
                 [&](std::string_view key, std::string_view value) {
                   measured += value.size();
                   if (size_cap != 0 && measured > size_cap) {
                     out.over_cap = true;
                     return false;
                   }
                   if (filling && (out.frames.empty() || out.bytes + value.size() <= batch_bytes)) {
                     if (auto fresh = names.refresh_frame(value))
                       out.frames.push_back(std::move(*fresh));
                     else
                       out.frames.emplace_back(value);
                     out.bytes += out.frames.back().size();
                     return true;
                   }
                   if (filling) {
                     filling = false;
                     out.next = seq_of_event_key(key);
                   }
                   // Past the batch: keep measuring only while there is a cap to check.
                   return size_cap != 0;
                 });
  if (!st) return storage_error(st.error());
  if (out.over_cap) {
    out.frames.clear();
    out.bytes = 0;
  }
  out.done = filling;
  return out;
}

command_reply read_auth(persistence::read_store& reads, const std::string& token) {
  if (token.empty()) return command_reply::fail(errc::unauthenticated, "bad token");
  auto row = reads.get(table::tokens, sha256_hex(token));
  if (!row) return command_reply::fail(storage_error(row.error()));
  if (!row->has_value()) return command_reply::fail(errc::unauthenticated, "bad token");
  const std::string& text = **row;
  std::uint64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || ptr != text.data() + text.size() || id == 0)
    return command_reply::fail(errc::internal, "corrupt token row");
  auto account = reads.get(table::accounts, read_model::account_key(account_id{id}));
  if (!account) return command_reply::fail(storage_error(account.error()));
  std::string name;
  if (account->has_value()) {
    auto j = nlohmann::json::parse(**account, nullptr, false);
    if (j.is_object()) {
      name = j.value("name", "");
      // An operator disabled it: its token stays stored (enabling restores it) but is refused.
      if (j.value("disabled", false))
        return command_reply::fail(errc::unauthenticated, "account disabled");
    }
  }
  return command_reply::ok({{"account_id", id}, {"name", name}});
}

command_reply read_accounts(persistence::read_store& reads, account_id reader,
                            const std::vector<account_id>& ids) {
  // The same accounts as get_profiles, with the name alone.
  auto profiles = read_profiles(reads, reader, ids);
  if (profiles.err) return profiles;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : profiles.fields["profiles"])
    list.push_back(
        {{"account_id", p.value("account_id", std::uint64_t{0})}, {"name", p.value("name", "")}});
  return command_reply::ok({{"accounts", std::move(list)}});
}

command_reply with_member_names(persistence::read_store& reads, const nlohmann::json& members) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : members) {
    auto entry = m;
    account_id id{m.value("account_id", std::uint64_t{0})};
    auto row = reads.get(table::accounts, read_model::account_key(id));
    if (!row) return command_reply::fail(storage_error(row.error()));
    if (row->has_value()) {
      auto j = nlohmann::json::parse(**row, nullptr, false);
      if (!j.is_object()) return command_reply::fail(errc::internal, "corrupt account row");
      entry["name"] = j.value("name", "");
    }
    list.push_back(std::move(entry));
  }
  return command_reply::ok({{"members", std::move(list)}});
}

void name_task_accounts(persistence::read_store& reads, nlohmann::json& tasks) {
  // A list names the same few people again and again: each is looked up once.
  std::map<std::uint64_t, std::optional<std::string>> known;
  auto name_one = [&](nlohmann::json& person) {
    if (!person.is_object()) return;
    const auto id = person.value("account_id", std::uint64_t{0});
    if (id == 0) return;
    auto it = known.find(id);
    if (it == known.end()) it = known.emplace(id, current_name(reads, account_id{id})).first;
    if (it->second) person["name"] = *it->second;
  };
  auto name_task = [&](nlohmann::json& task) {
    if (!task.is_object()) return;
    for (const char* who : {"account", "assigned_by_account"})
      if (auto p = task.find(who); p != task.end()) name_one(*p);
  };
  if (tasks.is_array()) {
    for (auto& t : tasks) name_task(t);
  } else {
    name_task(tasks);
  }
}

}  // namespace hibiki::actors
