#include "search_reads.hpp"

#include <cstdint>
#include <vector>

#include "people_reads.hpp"
#include "reads.hpp"

namespace hibiki::actors {

namespace {

using read_model::table;

/// The rooms `reader` is a member of now.
result<std::vector<room_id>> rooms_of(persistence::read_store& reads, account_id reader) {
  std::vector<room_id> rooms;
  std::optional<hibiki::error> bad;
  auto st = reads.scan(table::member_rooms, read_model::member_rooms_prefix(reader),
                       read_model::member_rooms_prefix(account_id{reader.value + 1}), SIZE_MAX,
                       false, [&](std::string_view, std::string_view value) {
                         auto row = read_model::decode_member_row(value);
                         if (!row) {
                           bad = row.error();
                           return false;
                         }
                         rooms.push_back(row->room);
                         return true;
                       });
  if (!st) return st.error();
  if (bad) return hibiki::error{errc::internal, bad->message};
  return rooms;
}

hibiki::error as_reply_error(const hibiki::error& e) {
  return e.code == errc::ok ? hibiki::error{errc::internal, e.message} : e;
}

}  // namespace

command_reply read_search(persistence::read_store& reads, const persistence::search_index* index,
                          account_id reader, const protocol::search_req& req) {
  if (index == nullptr) {
    return command_reply::fail(errc::unavailable, "search is turned off on this server");
  }
  if (req.room) {
    if (auto err = check_member(reads, reader, *req.room)) return command_reply::fail(*err);
  }
  auto rooms = rooms_of(reads, reader);
  if (!rooms) return command_reply::fail(as_reply_error(rooms.error()));

  persistence::search_query query;
  query.text = req.q;
  query.rooms = std::move(*rooms);
  query.room = req.room;
  query.author = req.account;
  query.after_time = req.after_time;
  query.before_time = req.before_time;
  query.order =
      req.relevance ? persistence::search_order::relevance : persistence::search_order::newest;
  query.limit = req.limit;
  query.offset = req.offset;
  auto answer = index->search(query);
  if (!answer) return command_reply::fail(as_reply_error(answer.error()));

  read_model::name_refresher names([&reads](account_id a) { return current_name(reads, a); });
  nlohmann::json results = nlohmann::json::array();
  for (const auto& hit : answer->hits) {
    auto row = reads.get(table::history, read_model::history_key(hit.room, hit.message));
    if (!row) return command_reply::fail(as_reply_error(row.error()));
    if (!row->has_value()) continue;
    auto message = nlohmann::json::parse(**row, nullptr, false);
    if (!message.is_object()) return command_reply::fail(errc::internal, "corrupt history row");
    if (message.value("deleted", false)) continue;
    names.refresh(message);
    results.push_back(
        {{"room_id", hit.room.value}, {"message", std::move(message)}, {"snippet", hit.snippet}});
  }
  return command_reply::ok({{"total", answer->total}, {"results", std::move(results)}});
}

}  // namespace hibiki::actors
