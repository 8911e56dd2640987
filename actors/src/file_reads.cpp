#include "file_reads.hpp"

#include <algorithm>

#include "reads.hpp"

namespace hibiki::actors {

namespace {

using read_model::table;

hibiki::error storage_error(const hibiki::error& e) {
  return e.code == errc::ok ? hibiki::error{errc::internal, e.message} : e;
}

}  // namespace

result<nlohmann::json> read_file_row(persistence::read_store& reads, account_id reader,
                                     room_id room, file_id file) {
  if (auto err = check_member(reads, reader, room)) return storage_error(*err);
  auto row = reads.get(table::room_files, read_model::room_file_key(room, file));
  if (!row) return storage_error(row.error());
  if (!row->has_value()) return hibiki::error{errc::not_found, "no such file in this room"};
  auto j = nlohmann::json::parse(**row, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return hibiki::error{errc::internal, "corrupt file row"};
  return j;
}

nlohmann::json file_object_of(nlohmann::json row) {
  row.erase("object_key");
  row.erase("content_type");
  return row;
}

command_reply read_file_list(persistence::read_store& reads, account_id reader, room_id room,
                             std::optional<account_id> uploader) {
  if (auto err = check_member(reads, reader, room)) return command_reply::fail(storage_error(*err));
  const auto from = read_model::room_files_prefix(room);
  const auto to = read_model::room_files_prefix(room_id{room.value + 1});
  nlohmann::json files = nlohmann::json::array();
  std::optional<hibiki::error> bad;
  // Newest first, so the cap keeps the latest; then turned back into file order.
  auto st = reads.scan(table::room_files, from, to, SIZE_MAX, true,
                       [&](std::string_view, std::string_view value) {
                         auto j = nlohmann::json::parse(value, nullptr, false);
                         if (j.is_discarded() || !j.is_object()) {
                           bad = hibiki::error{errc::internal, "corrupt file row"};
                           return false;
                         }
                         if (uploader && j.value("account_id", std::uint64_t{0}) != uploader->value)
                           return true;
                         files.push_back(file_object_of(std::move(j)));
                         return files.size() < max_listed_files;
                       });
  if (!st) return command_reply::fail(storage_error(st.error()));
  if (bad) return command_reply::fail(*bad);
  std::reverse(files.begin(), files.end());
  return command_reply::ok({{"files", std::move(files)}});
}

}  // namespace hibiki::actors
