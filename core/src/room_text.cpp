/// Text rules of a room: code point counting, and the tags that mention someone: `[To:id]`,
/// replies `[rp aid=id to=room-message]` and `[toall]`.

#include <algorithm>
#include <string_view>

#include "hibiki/core/room.hpp"
#include "utf8.hpp"

namespace hibiki::room {

namespace {

/// The account id in decimal at `body[i...]` followed by `close`; 0 when there is none (no
/// digits, 0, past max_wire_id, or another character after the digits).
std::uint64_t tagged_id(std::string_view body, std::size_t i, char close) {
  std::uint64_t value = 0;
  std::size_t digits = 0;
  while (i < body.size() && body[i] >= '0' && body[i] <= '9') {
    value = value * 10 + static_cast<std::uint64_t>(body[i] - '0');
    // Past max_wire_id the tag cannot name an account; stop before the arithmetic wraps.
    if (value > max_wire_id) return 0;
    ++digits;
    ++i;
  }
  if (digits == 0 || i >= body.size() || body[i] != close) return 0;
  return value;
}

}  // namespace

std::optional<std::size_t> utf8_length(std::string_view text) {
  std::size_t count = 0;
  if (!detail::for_each_code_point(text, [&](char32_t) { ++count; })) return std::nullopt;
  return count;
}

std::vector<account_id> parse_mentions(std::string_view body) {
  constexpr std::string_view to = "[To:";
  constexpr std::string_view reply = "[rp aid=";
  std::vector<account_id> out;
  // Scanning moves one '[' at a time, so "[To:[To:5]" still finds the inner tag.
  for (std::size_t pos = body.find('['); pos != std::string_view::npos;
       pos = body.find('[', pos + 1)) {
    std::uint64_t value = 0;
    if (body.substr(pos, to.size()) == to) {
      value = tagged_id(body, pos + to.size(), ']');
    } else if (body.substr(pos, reply.size()) == reply) {
      // A reply notifies the author replied to, like a `[To:id]`.
      value = tagged_id(body, pos + reply.size(), ' ');
    }
    if (value == 0) continue;
    const account_id id{value};
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

bool mentions_all(std::string_view body) {
  return body.find("[toall]") != std::string_view::npos;
}

}  // namespace hibiki::room
