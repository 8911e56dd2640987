#include "search_terms.hpp"

#include <charconv>

#include "hibiki/core/read_model.hpp"
#include "hibiki/core/room.hpp"

namespace hibiki::persistence::search {

std::string room_term(room_id r) {
  return "R" + std::to_string(r.value);
}

std::string author_term(account_id a) {
  return "A" + std::to_string(a.value);
}

std::string message_term(room_id r, message_id m) {
  return "Q" + std::to_string(r.value) + ":" + std::to_string(m.value);
}

std::string encode_data(const stored_message& m) {
  std::string out = read_model::be64(m.room.value);
  out += read_model::be64(m.message.value);
  out += read_model::be64(m.author.value);
  out += read_model::be64(static_cast<std::uint64_t>(m.time));
  return out;
}

std::optional<stored_message> decode_data(std::string_view data) {
  if (data.size() < 32) return std::nullopt;
  stored_message m;
  m.room = room_id{read_model::read_be64(data.substr(0, 8))};
  m.message = message_id{read_model::read_be64(data.substr(8, 8))};
  m.author = account_id{read_model::read_be64(data.substr(16, 8))};
  m.time = static_cast<unix_time>(read_model::read_be64(data.substr(24, 8)));
  return m;
}

std::string encode_positions(const feed_positions& p) {
  std::string out;
  for (const auto& [partition, offset] : p) {
    if (!out.empty()) out += ',';
    out += std::to_string(partition) + ":" + std::to_string(offset);
  }
  return out;
}

result<feed_positions> decode_positions(std::string_view text) {
  feed_positions out;
  const auto bad = [&] {
    return error{errc::internal,
                 "corrupt feed positions in the search index: " + std::string(text)};
  };
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) return bad();
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    auto p = std::from_chars(item.data(), item.data() + colon, partition);
    auto o = std::from_chars(item.data() + colon + 1, item.data() + item.size(), offset);
    if (p.ec != std::errc{} || p.ptr != item.data() + colon || o.ec != std::errc{} ||
        o.ptr != item.data() + item.size()) {
      return bad();
    }
    out[partition] = offset;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

status check_query(const search_query& q) {
  const auto chars = room::utf8_length(q.text);
  if (!chars) return error{errc::bad_request, "q is not valid UTF-8"};
  if (q.text.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
    return error{errc::bad_request, "q is empty"};
  }
  if (*chars > max_search_query_chars) {
    return error{errc::bad_request,
                 "q is longer than " + std::to_string(max_search_query_chars) + " characters"};
  }
  if (q.limit < 1 || q.limit > max_search_limit) {
    return error{errc::bad_request, "limit must be 1.." + std::to_string(max_search_limit)};
  }
  return {};
}

}  // namespace hibiki::persistence::search
