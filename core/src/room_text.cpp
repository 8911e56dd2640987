/// Text rules of a room: code point counting and `[To:id]` mention tags.

#include <algorithm>
#include <string_view>

#include "hibiki/core/room.hpp"
#include "utf8.hpp"

namespace hibiki::room {

std::optional<std::size_t> utf8_length(std::string_view text) {
  std::size_t count = 0;
  if (!detail::for_each_code_point(text, [&](char32_t) { ++count; })) return std::nullopt;
  return count;
}

std::vector<account_id> parse_mentions(std::string_view body) {
  constexpr std::string_view open = "[To:";
  std::vector<account_id> out;
  std::size_t pos = 0;
  while ((pos = body.find(open, pos)) != std::string_view::npos) {
    std::size_t i = pos + open.size();
    // Scanning resumes right after "[To:", so "[To:[To:5]" still finds the inner tag.
    pos = i;
    std::uint64_t value = 0;
    std::size_t digits = 0;
    bool overflow = false;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') {
      value = value * 10 + static_cast<std::uint64_t>(body[i] - '0');
      // Past max_wire_id the tag cannot name an account; stop before the arithmetic wraps.
      if (value > max_wire_id) overflow = true;
      if (overflow) break;
      ++digits;
      ++i;
    }
    if (overflow || digits == 0 || i >= body.size() || body[i] != ']' || value == 0) continue;
    const account_id id{value};
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

}  // namespace hibiki::room
