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

std::string task_message_body(const std::vector<account_id>& assignees, std::string_view body) {
  std::string head = "[info][title]Task for";
  for (const auto a : assignees) head += " [piconname:" + std::to_string(a.value) + "]";
  head += "[/title]";
  constexpr std::string_view tail = "[/info]";
  // The wrapper is ASCII: its bytes are its code points. The body is valid UTF-8 (decide
  // checked it), so cutting it is counting code points up to what is left.
  const std::size_t room_left = max_body_chars - head.size() - tail.size();
  std::size_t count = 0;
  std::size_t cut = body.size();
  for (std::size_t i = 0; i < body.size(); ++i) {
    if ((static_cast<unsigned char>(body[i]) & 0xC0) == 0x80) continue;  // a continuation byte
    if (count == room_left - 1) {
      cut = i;
      break;
    }
    ++count;
  }
  std::string out = std::move(head);
  if (cut < body.size() && utf8_length(body.substr(cut)).value_or(0) > 1) {
    out.append(body.substr(0, cut));
    out += "\u2026";
  } else {
    out.append(body);
  }
  out.append(tail);
  return out;
}

}  // namespace hibiki::room
