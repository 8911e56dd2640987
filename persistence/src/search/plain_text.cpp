#include "plain_text.hpp"

#include <array>

namespace hibiki::persistence::search {

namespace {

/// Consumes `prefix` at the front of `s`.
bool eat(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

/// Consumes one or more decimal digits at the front of `s`.
bool eat_digits(std::string_view& s) {
  std::size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
  if (n == 0) return false;
  s.remove_prefix(n);
  return true;
}

/// True when `inner` (what stands between '[' and ']') is a tag of the notation.
bool is_tag(std::string_view inner) {
  static constexpr std::array<std::string_view, 11> bare = {
      "toall", "hr", "qt", "/qt", "info", "/info", "title", "/title", "code", "/code", "/download"};
  for (const auto word : bare) {
    if (inner == word) return true;
  }
  std::string_view s = inner;
  for (const std::string_view head : {"To:", "picon:", "piconname:", "download:"}) {
    s = inner;
    if (eat(s, head) && eat_digits(s) && s.empty()) return true;
  }
  s = inner;
  if (eat(s, "rp aid=") && eat_digits(s) && eat(s, " to=") && eat_digits(s) && eat(s, "-") &&
      eat_digits(s) && s.empty()) {
    return true;
  }
  s = inner;
  if (eat(s, "qtmeta aid=") && eat_digits(s)) {
    if (s.empty()) return true;
    return eat(s, " time=") && eat_digits(s) && s.empty();
  }
  return false;
}

/// The longest tag of the notation is `[rp aid=N to=N-N]` with three ids of up to 16 digits.
constexpr std::size_t max_tag_inner = 64;

}  // namespace

std::string plain_text(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  std::size_t i = 0;
  while (i < body.size()) {
    const std::size_t open = body.find('[', i);
    if (open == std::string_view::npos) {
      out.append(body.substr(i));
      break;
    }
    out.append(body.substr(i, open - i));
    const std::size_t close = body.find_first_of("[]", open + 1);
    if (close != std::string_view::npos && body[close] == ']' &&
        close - open - 1 <= max_tag_inner && is_tag(body.substr(open + 1, close - open - 1))) {
      out.push_back(' ');
      i = close + 1;
    } else {
      out.push_back('[');
      i = open + 1;
    }
  }
  return out;
}

}  // namespace hibiki::persistence::search
