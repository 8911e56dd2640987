#include "snippet.hpp"

#include <algorithm>
#include <unordered_set>
#include <utility>
#include <vector>

namespace hibiki::persistence::search {

namespace {

using span = std::pair<std::size_t, std::size_t>;  // [begin, end) in bytes

std::vector<span> match_spans(std::string_view text, const query_terms& terms,
                              const Xapian::Stem& stemmer) {
  const std::unordered_set<std::string_view> exact(terms.exact.begin(), terms.exact.end());
  const std::unordered_set<std::string_view> single(terms.prefixes.begin(), terms.prefixes.end());
  std::vector<span> out;
  std::vector<bool> covered;
  split_text(text, stemmer, [&](const text_piece& p) {
    if (!p.cjk) {
      if (exact.count(p.term) != 0) out.emplace_back(p.begin, p.end);
      return;
    }
    const std::size_t n = p.chars();
    covered.assign(n, false);
    for (std::size_t i = 0; i < n; ++i) {
      if (i + 1 < n && exact.count(p.run_chars(i, 2)) != 0) covered[i] = covered[i + 1] = true;
      if (single.count(p.run_chars(i, 1)) != 0) covered[i] = true;
    }
    for (std::size_t i = 0; i < n;) {
      if (!covered[i]) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < n && covered[j]) ++j;
      out.emplace_back(p.char_begins[i], p.char_begins[j]);
      i = j;
    }
  });
  return out;
}

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

void append_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace

std::string make_snippet(std::string_view text, const query_terms& terms,
                         const Xapian::Stem& stemmer, std::size_t bytes) {
  const auto spans = match_spans(text, terms, stemmer);
  std::size_t from = 0;
  std::size_t to = text.size();
  if (text.size() > bytes) {
    // Some context before the first match, then as much after it as fits.
    const std::size_t first = spans.empty() ? 0 : spans.front().first;
    from = first > bytes / 4 ? first - bytes / 4 : 0;
    from = std::min(from, text.size() - bytes);
    while (from > 0 && is_continuation(text[from])) --from;
    to = from + bytes;
    while (to < text.size() && is_continuation(text[to])) --to;
  }
  std::string out;
  out.reserve(to - from + 32);
  if (from > 0) out += "\u2026";
  std::size_t at = from;
  for (const auto& [b, e] : spans) {
    const std::size_t begin = std::max(b, at);
    const std::size_t end = std::min(e, to);
    if (begin >= end) continue;
    append_escaped(out, text.substr(at, begin - at));
    out += "<mark>";
    append_escaped(out, text.substr(begin, end - begin));
    out += "</mark>";
    at = end;
  }
  append_escaped(out, text.substr(at, to - at));
  if (to < text.size()) out += "\u2026";
  return out;
}

}  // namespace hibiki::persistence::search
