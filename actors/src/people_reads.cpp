#include "people_reads.hpp"

#include <algorithm>

#include "hibiki/core/read_model.hpp"

namespace hibiki::actors {

namespace {

using read_model::table;

hibiki::error storage_error(const hibiki::error& e) {
  return e.code == errc::ok ? hibiki::error{errc::internal, e.message} : e;
}

/// Every row under `prefix` (an account's 8-byte key prefix), parsed.
result<std::vector<nlohmann::json>> scan_account_rows(persistence::read_store& reads, table tbl,
                                                      account_id account) {
  std::vector<nlohmann::json> rows;
  bool corrupt = false;
  auto st = reads.scan(tbl, read_model::be64(account.value), read_model::be64(account.value + 1),
                       SIZE_MAX, false, [&](std::string_view, std::string_view value) {
                         auto j = nlohmann::json::parse(value, nullptr, false);
                         if (!j.is_object()) {
                           corrupt = true;
                           return false;
                         }
                         rows.push_back(std::move(j));
                         return true;
                       });
  if (!st) return storage_error(st.error());
  if (corrupt)
    return hibiki::error{errc::internal,
                         std::string("corrupt ") + read_model::table_name(tbl) + " row"};
  return rows;
}

result<std::vector<room_id>> rooms_of(persistence::read_store& reads, account_id account) {
  std::vector<room_id> rooms;
  auto st = reads.scan(table::member_rooms, read_model::member_rooms_prefix(account),
                       read_model::member_rooms_prefix(account_id{account.value + 1}), SIZE_MAX,
                       false, [&](std::string_view key, std::string_view) {
                         rooms.push_back(room_id{read_model::read_be64(key.substr(8))});
                         return true;
                       });
  if (!st) return storage_error(st.error());
  return rooms;  // ascending: the keys sort by room
}

result<bool> exists(persistence::read_store& reads, table tbl, const std::string& key) {
  auto row = reads.get(tbl, key);
  if (!row) return storage_error(row.error());
  return row->has_value();
}

/// Adds `account`'s profile fields to `into`; false when there is no such account.
result<bool> add_profile(persistence::read_store& reads, account_id account, nlohmann::json& into) {
  auto profile = read_profile(reads, account);
  if (!profile) return profile.error();
  if (!*profile) return false;
  for (auto& [key, value] : (*profile)->items()) into[key] = value;
  return true;
}

}  // namespace

result<std::optional<nlohmann::json>> read_profile(persistence::read_store& reads,
                                                   account_id account) {
  auto row = reads.get(table::accounts, read_model::account_key(account));
  if (!row) return storage_error(row.error());
  if (!row->has_value()) return std::optional<nlohmann::json>{};
  auto j = nlohmann::json::parse(**row, nullptr, false);
  if (!j.is_object()) return hibiki::error{errc::internal, "corrupt account row"};
  j.erase("disabled");
  // Rows written before profiles existed have only the name.
  for (const char* field :
       {"chatwork_id", "organization_name", "department", "title", "introduction"})
    if (!j.contains(field)) j[field] = "";
  return std::optional<nlohmann::json>{std::move(j)};
}

std::optional<std::string> current_name(persistence::read_store& reads, account_id account) {
  auto row = reads.get(table::accounts, read_model::account_key(account));
  if (!row || !row->has_value()) return std::nullopt;
  auto j = nlohmann::json::parse(**row, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto name = j.find("name");
  if (name == j.end() || !name->is_string()) return std::nullopt;
  return name->get<std::string>();
}

result<bool> knows(persistence::read_store& reads, account_id reader, account_id other,
                   const std::vector<room_id>& reader_rooms) {
  if (reader == other) return true;
  for (const auto& key :
       {std::pair{table::contacts, read_model::contact_key(reader, other)},
        std::pair{table::contact_requests, read_model::contact_request_key(reader, other)},
        std::pair{table::contact_requests, read_model::contact_request_key(other, reader)}}) {
    auto hit = exists(reads, key.first, key.second);
    if (!hit) return hit.error();
    if (*hit) return true;
  }
  // A shared room: walk the other's rooms against the reader's (both sorted), stopping at the
  // first one in common.
  bool shared = false;
  auto st = reads.scan(table::member_rooms, read_model::member_rooms_prefix(other),
                       read_model::member_rooms_prefix(account_id{other.value + 1}), SIZE_MAX,
                       false, [&](std::string_view key, std::string_view) {
                         room_id room{read_model::read_be64(key.substr(8))};
                         shared =
                             std::binary_search(reader_rooms.begin(), reader_rooms.end(), room);
                         return !shared;
                       });
  if (!st) return storage_error(st.error());
  return shared;
}

command_reply read_profiles(persistence::read_store& reads, account_id reader,
                            const std::vector<account_id>& ids) {
  auto rooms = rooms_of(reads, reader);
  if (!rooms) return command_reply::fail(rooms.error());
  nlohmann::json list = nlohmann::json::array();
  std::vector<account_id> seen;
  for (auto id : ids) {
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    seen.push_back(id);
    auto known = knows(reads, reader, id, *rooms);
    if (!known) return command_reply::fail(known.error());
    if (!*known) continue;
    auto profile = read_profile(reads, id);
    if (!profile) return command_reply::fail(profile.error());
    if (*profile) list.push_back(std::move(**profile));
  }
  return command_reply::ok({{"profiles", std::move(list)}});
}

command_reply read_contacts(persistence::read_store& reads, account_id reader) {
  auto rows = scan_account_rows(reads, table::contacts, reader);
  if (!rows) return command_reply::fail(rows.error());
  nlohmann::json list = nlohmann::json::array();
  for (auto& row : *rows) {
    account_id other{row.value("account_id", std::uint64_t{0})};
    auto found = add_profile(reads, other, row);
    if (!found) return command_reply::fail(found.error());
    list.push_back(std::move(row));
  }
  return command_reply::ok({{"contacts", std::move(list)}});
}

command_reply read_incoming_requests(persistence::read_store& reads, account_id reader) {
  auto rows = scan_account_rows(reads, table::contact_requests, reader);
  if (!rows) return command_reply::fail(rows.error());
  nlohmann::json list = nlohmann::json::array();
  for (auto& row : *rows) {
    account_id from{row.value("account_id", std::uint64_t{0})};
    row["request_id"] = from.value;
    auto found = add_profile(reads, from, row);
    if (!found) return command_reply::fail(found.error());
    list.push_back(std::move(row));
  }
  return command_reply::ok({{"requests", std::move(list)}});
}

}  // namespace hibiki::actors
